import NIOCore
import Synchronization

/// Open client connections and how many exchanges each has in flight, so a graceful shutdown
/// can close idle connections at once and busy ones as soon as their last exchange ends.
final class ConnectionTracker: Sendable {
    private struct Entry {
        let channel: any Channel
        var active = 0
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var draining = false
    }

    private let state = Mutex(State())

    func opened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { $0.entries[id] = Entry(channel: channel) }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.entries.removeValue(forKey: id) }
        }
    }

    func exchangeStarted(on channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.active += 1 }
    }

    func exchangeEnded(on channel: any Channel) {
        let close = state.withLock { state -> Bool in
            let id = ObjectIdentifier(channel)
            state.entries[id]?.active -= 1
            return state.draining && state.entries[id]?.active == 0
        }
        if close { channel.close(promise: nil) }
    }

    /// Starts draining: closes every idle connection now.
    func drain() {
        let idle = state.withLock { state in
            state.draining = true
            return state.entries.values.filter { $0.active == 0 }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    var openConnections: Int { state.withLock { $0.entries.count } }

    func closeAll() {
        for channel in state.withLock({ $0.entries.values.map(\.channel) }) { channel.close(promise: nil) }
    }
}
