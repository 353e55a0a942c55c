import AuditBatcher
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Ships one sink's audit events: appends each accepted event to the sink's own durable spool,
/// batches with ``BatchingStateMachine`` (event ids are spool sequence numbers), and performs
/// what the machine decides: send, refresh credentials, wait, drop. A batch leaves the spool only
/// once the sink acknowledged it (or the machine gave up on it), so delivery is at least once:
/// after a crash the unacknowledged tail is sent again and receivers dedupe by `auditID`.
///
/// The spool and the machine are not thread-safe: they live in a ``ShipperState`` behind a
/// lock. Request threads append through `accept` synchronously, on their own event loop (an
/// actor would move every exchange to another thread and back, which cost more than the
/// append); the driver takes the lock for its steps between sends and never across one, so
/// appends never wait for the network.
public final class AuditShipper: AuditBackend, Service {
    public typealias Instant = ContinuousClock.Instant

    public struct Configuration: Sendable {
        public var batching: BatchingConfiguration
        /// This sink's own directory (`<--audit-spool-dir>/<backend>`).
        public var spoolDirectory: String
        public var spoolMaxBytes: UInt64
        /// How long SIGTERM waits for the last batches; what is left stays spooled.
        public var shutdownFlushTimeout: Duration
        /// "Dropped N events" is logged at most once per interval.
        public var dropNoticeInterval: Duration
        /// `--audit-webhook-truncate-enabled`: events over the size limit lose their objects
        /// (or, still too large, are dropped) before they are spooled; batches over the batch
        /// limit go out in several requests. nil: events and batches go as they are.
        public var truncation: AuditTruncation?

        public init(
            batching: BatchingConfiguration, spoolDirectory: String, spoolMaxBytes: UInt64 = 256 << 20,
            shutdownFlushTimeout: Duration = .seconds(10), dropNoticeInterval: Duration = .seconds(60),
            truncation: AuditTruncation? = nil
        ) {
            self.batching = batching
            self.spoolDirectory = spoolDirectory
            self.spoolMaxBytes = spoolMaxBytes
            self.shutdownFlushTimeout = shutdownFlushTimeout
            self.dropNoticeInterval = dropNoticeInterval
            self.truncation = truncation
        }

        /// Where the file system refuses to map the spool's segments: the newest events also
        /// kept in memory, so batches are read back without touching the disk while the sink
        /// keeps up; a few batches' worth, and never more than the spool.
        var spoolMemoryBytes: Int {
            Int(min(UInt64(4 << 20), spoolMaxBytes))
        }

        /// Segments small enough that a full spool drops a sixteenth of itself, not all of it.
        var spoolSegmentBytes: Int {
            Int(max(4096, min(UInt64(8 << 20), spoolMaxBytes / 16)))
        }
    }

    public let name: String
    public let configuration: Configuration
    private let sink: any AuditSink
    private let clock: any ShipperClock
    private let logger: Logger
    /// The spool, the machine and the bookkeeping. Held for appends and for the driver's steps
    /// between sends; never across an await.
    private let state: Mutex<ShipperState>
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let stopping = Atomic<Bool>(false)
    /// When a graceful shutdown was asked for, plus `shutdownFlushTimeout`: no send starts after
    /// it, so a backlog cannot hold the shutdown past it by more than the send in flight.
    private let shutdownDeadline = Mutex<ContinuousClock.Instant?>(nil)

    /// Opens (and recovers) the spool; what it holds unacknowledged is sent again once `run` starts.
    public init(
        sink: any AuditSink, configuration: Configuration, metrics: AuditMetrics.Backend,
        clock: any ShipperClock = SystemShipperClock(), logger: Logger
    ) throws {
        self.name = sink.backend
        self.configuration = configuration
        self.sink = sink
        self.clock = clock
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state = Mutex(
            try ShipperState(
                name: sink.backend, configuration: configuration, clock: clock, metrics: metrics, logger: logger,
                wake: wake))
    }

    // MARK: - Accepting events

    /// Appends the events to the spool (they count as accepted once there) and queues them for
    /// batching, on the caller's thread. When the spool is full its oldest events make room,
    /// counted and logged.
    public func accept(_ events: [[UInt8]]) throws {
        guard let truncation = configuration.truncation, events.contains(where: { truncation.isOversized($0) })
        else { return try state.withLock { try $0.spool(events) } }
        let readBack = events.map { ($0, truncation.structureIfOversized($0)) }
        try state.withLock { try $0.spool($0.truncated(readBack, by: truncation)) }
    }

    /// The same, for events whose structure comes along: truncating one costs no decoding.
    public func accept(encoded events: [EncodedAuditEvent]) throws {
        guard let truncation = configuration.truncation, events.contains(where: { truncation.isOversized($0.json) })
        else { return try state.withLock { try $0.spool(events.lazy.map { $0.json }) } }
        let pairs = events.map { ($0.json, $0.event ?? truncation.structureIfOversized($0.json)) }
        try state.withLock { try $0.spool($0.truncated(pairs, by: truncation)) }
    }

    /// The same, lent from the audit step's buffer: copied into the spool from there.
    public func accept(json events: EncodedEvents) throws {
        guard let truncation = configuration.truncation, events.contains(where: { truncation.isOversized($0) })
        else { return try state.withLock { try $0.spool(events) } }
        try accept(events.map { Array($0) })
    }

    public var reshapesEvents: Bool { configuration.truncation != nil }

    // MARK: - The driver

    /// Sends until graceful shutdown, then flushes until `shutdownFlushTimeout` after it was asked
    /// for: a send in flight when it was asked for is let finish; one in flight at the deadline
    /// is cut off (its events stay spooled), and none starts after it.
    public func run() async throws {
        var wakeups = self.wakeups.makeAsyncIterator()
        await withGracefulShutdownHandler {
            loop: while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
                switch state.withLock({ $0.nextStep() }) {
                case .perform(let actions):
                    await perform(actions)
                case .sleep(let wakeAt):
                    guard !stopping.load(ordering: .relaxed) else { break loop }
                    await sleep(until: wakeAt, wakeups: &wakeups)
                    state.withLock { $0.awake() }
                }
            }
        } onGracefulShutdown: {
            self.requestStop()
        }
        await flushForShutdown()
        state.withLock { state in
            state.reportDrops(force: true)
            state.syncSpool()
        }
        await sink.shutdown()
    }

    private func requestStop() {
        shutdownDeadline.withLock { $0 = $0 ?? clock.now + configuration.shutdownFlushTimeout }
        stopping.store(true, ordering: .relaxed)
        wake.yield()
    }

    /// Past the shutdown's deadline: what is still unsent stays spooled for the next start.
    private var isPastShutdownDeadline: Bool {
        shutdownDeadline.withLock { $0 }.map { clock.now >= $0 } ?? false
    }

    private func sleep(until deadline: Instant?, wakeups: inout AsyncStream<Void>.Iterator) async {
        let timer = deadline.map { deadline in
            Task { [clock, wake] in
                try await clock.sleep(until: deadline)
                wake.yield()
            }
        }
        _ = await wakeups.next()
        timer?.cancel()
    }

    /// Performs `actions` and whatever they lead to. A `wait` needs nothing here: the driver's
    /// next step asks the machine again and sleeps until what is then due.
    private func perform(_ actions: [BatchingAction<UInt64>]) async {
        var queue = actions
        var next = 0
        actions: while true {
            if next == queue.count {
                let admitted = state.withLock { $0.admitBacklog() }
                guard !admitted.isEmpty else { break }
                queue.append(contentsOf: admitted)
                continue
            }
            let action = queue[next]
            next += 1
            switch action {
            case .send(let batch):
                // A backlog chains sends; past the deadline the batch stays spooled instead.
                guard !isPastShutdownDeadline else { break actions }
                queue.append(contentsOf: await send(batch))
            case .refreshCredentials:
                guard case .failed(let retryAfter) = await sink.refreshCredentials() else { continue }
                // No credentials: the send that follows counts as failed and backs off.
                if next < queue.count, case .send(let batch) = queue[next] {
                    next += 1
                    queue.append(
                        contentsOf: state.withLock { $0.credentialsMissing(for: batch, retryAfter: retryAfter) })
                }
            case .drop(let batch, let reason):
                state.withLock { $0.drop(batch, reason) }
            case .wait:
                continue
            }
        }
        state.withLock { $0.publishSpool() }
    }

    /// Reads `batch` back and posts it (in parts when it is over the truncation limit), both
    /// outside the lock, so appends go on meanwhile.
    private func send(_ batch: AuditBatch<UInt64>) async -> [BatchingAction<UInt64>] {
        let read: SpoolRead
        switch state.withLock({ $0.read(batch) }) {
        case .settled(let actions): return actions
        case .read(let planned): read = planned
        }
        let outcome = Result { try read.perform() }
        let records: [SpoolRecordRead]
        let parts: [Range<Int>]
        switch state.withLock({ $0.contents(of: batch, from: outcome) }) {
        case .settled(let actions): return actions
        case .records(let found, let split): (records, parts) = (found, split)
        }
        // The parts are consecutive from the first record: those delivered before one failed
        // leave the spool, so that a retry sends only the rest, and a drop counts only the rest.
        var delivered = 0
        for part in parts {
            let body = AuditEventList.jsonBody(encodedEvents: records[part].lazy.map { $0.payload })
            if case .failed(let kind, let detail) = await sink.send(body) {
                return state.withLock { state in
                    if delivered > 0 { state.partlyDelivered(records[..<delivered]) }
                    return state.failed(batch, events: records.count - delivered, kind: kind, detail: detail)
                }
            }
            delivered = part.upperBound
        }
        return state.withLock { $0.delivered(batch, records: records[...]) }
    }

    // MARK: - Shutdown

    private func flushForShutdown() async {
        guard state.withLock({ !$0.machine.isIdle || $0.hasBacklog }) else { return }
        let deadline = shutdownDeadline.withLock { $0 } ?? clock.now + configuration.shutdownFlushTimeout
        guard clock.now < deadline else {
            logUnsentAtShutdown()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.drain() }
            group.addTask { [clock] in try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
        logUnsentAtShutdown()
    }

    private func logUnsentAtShutdown() {
        let unsent = unacknowledgedCount
        if unsent > 0 {
            logger.warning(
                "audit events not delivered before shutdown stay spooled for the next start",
                metadata: ["backend": "\(name)", "events": "\(unsent)"])
        } else {
            logger.info("audit events flushed", metadata: ["backend": "\(name)"])
        }
    }

    /// Sends everything pending, ignoring batch age and throttle. A send that fails is tried
    /// again a second later rather than after its back-off, until the flush's deadline ends
    /// the drain: one blip at shutdown would otherwise leave the rest spooled, and the chart's
    /// `emptyDir` spool goes with a deleted pod. What is left stays spooled for the next start.
    private func drain() async {
        while true {
            await perform(state.withLock { $0.flush(force: true) })
            guard state.withLock({ !$0.machine.isIdle || $0.hasBacklog }), !isPastShutdownDeadline else { return }
            do {
                try await clock.sleep(until: clock.now + Self.shutdownRetryPause)
            } catch {
                return
            }
        }
    }

    /// How long the shutdown flush waits before trying a failed send again.
    static let shutdownRetryPause: Duration = .seconds(1)

    // MARK: - For tests and benchmarks

    /// Events in the spool not yet acknowledged.
    public var unacknowledgedCount: UInt64 { state.withLock { $0.unacknowledgedCount } }

    /// The machine's running totals.
    public var counters: BatchingCounters { state.withLock { $0.machine.counters } }

    /// A graceful shutdown was asked for.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// How often the driver woke up; appends should rarely be the reason.
    var driverWakeups: Int { state.withLock { $0.driverWakeups } }

    /// Spool fsyncs started: owed only to events that wait for the sink.
    var spoolSyncs: Int { state.withLock { $0.spoolSyncs } }
}
