import NIOCore
import Synchronization

/// Open client connections and how many exchanges each has in flight, so a graceful shutdown
/// can close idle HTTP/1.1 connections at once and busy ones as soon as their last exchange
/// ends, and end HTTP/2 connections with a GOAWAY.
final class ConnectionTracker: Sendable {
    private struct Entry {
        let channel: any Channel
        var active = 0
        /// Drained with a GOAWAY, which closes it when its streams are done.
        var isHTTP2 = false
        /// Since when no exchange has been in flight on it; nil while one is. Kept for HTTP/2
        /// connections only (``idleSince(_:)``): HTTP/1.1 ones time their own waits.
        var idleSince: NIODeadline? = .now()
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var draining = false
        /// Exchanges in flight on any connection, open or already closed (an exchange outlives
        /// its connection's entry by the time it takes to record its events).
        var exchanges = 0
    }

    private let state = Mutex(State())

    func opened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { $0.entries[id] = Entry(channel: channel) }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.entries.removeValue(forKey: id) }
        }
    }

    /// The connection negotiated HTTP/2.
    func speaksHTTP2(_ channel: any Channel) {
        let quiesce = state.withLock { state -> Bool in
            state.entries[ObjectIdentifier(channel)]?.isHTTP2 = true
            return state.draining
        }
        // Negotiated as the drain began: it missed the GOAWAY the others got.
        if quiesce { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    func exchangeStarted(on channel: any Channel) {
        state.withLock { state in
            let id = ObjectIdentifier(channel)
            state.entries[id]?.active += 1
            state.entries[id]?.idleSince = nil
            state.exchanges += 1
        }
    }

    func exchangeEnded(on channel: any Channel) {
        let close = state.withLock { state -> Bool in
            let id = ObjectIdentifier(channel)
            state.entries[id]?.active -= 1
            state.exchanges -= 1
            guard let entry = state.entries[id] else { return false }
            if entry.active == 0, entry.isHTTP2 { state.entries[id]?.idleSince = .now() }
            return state.draining && entry.active == 0 && !entry.isHTTP2
        }
        if close { channel.close(promise: nil) }
    }

    /// Starts draining: every HTTP/2 connection gets a GOAWAY (and closes once its streams are
    /// done); every idle HTTP/1.1 connection is closed now.
    func drain() {
        let (http2, idle) = state.withLock { state in
            state.draining = true
            return (
                state.entries.values.filter(\.isHTTP2).map(\.channel),
                state.entries.values.filter { !$0.isHTTP2 && $0.active == 0 }.map(\.channel)
            )
        }
        for channel in http2 { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        for channel in idle { channel.close(promise: nil) }
    }

    /// Since when `channel` has had no exchange in flight: nil while one is, or once it closed.
    func idleSince(_ channel: any Channel) -> NIODeadline? {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.idleSince }
    }

    var openConnections: Int { state.withLock { $0.entries.count } }

    /// Exchanges still in flight (recording their events, after their connection was closed).
    var exchangesInFlight: Int { state.withLock { $0.exchanges } }

    func closeAll() {
        for channel in state.withLock({ $0.entries.values.map(\.channel) }) { channel.close(promise: nil) }
    }
}
