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
/// An actor, because the spool and the machine are not thread-safe and have one owner: request
/// tasks (on the cooperative pool, not on NIO's event loops) append through `accept`, the driver
/// loop reads and acknowledges batches, and the actor serializes the two. While a batch is in
/// flight the actor is free, so appends never wait for the network.
public actor AuditShipper: AuditBackend, Service {
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

        /// The newest events also kept in memory, so batches are read back without touching the
        /// disk while the sink keeps up: a few batches' worth, and never more than the spool.
        var spoolMemoryBytes: Int {
            Int(min(UInt64(4 << 20), spoolMaxBytes))
        }

        /// Segments small enough that a full spool drops a sixteenth of itself, not all of it.
        var spoolSegmentBytes: Int {
            Int(max(4096, min(UInt64(8 << 20), spoolMaxBytes / 16)))
        }
    }

    private enum DriverState {
        case busy
        /// Waiting for events, or for the machine's next deadline.
        case asleep(until: Instant?)
    }

    public nonisolated let name: String
    public let configuration: Configuration
    private let sink: any AuditSink
    private let clock: any ShipperClock
    private let metrics: AuditMetrics.Backend
    private let logger: Logger
    private let spool: BatchSpool
    private var machine: BatchingStateMachine<UInt64>
    /// The last sequence number handed to the machine; later ones wait in the spool for room in
    /// the machine's buffer.
    private var offeredThrough: UInt64
    private var spoolDropsCounted: UInt64
    private var dropNotice: DropNotice
    /// Events dropped as too large even without their objects, reported apart from a full spool.
    private var oversizeNotice: DropNotice
    private var driver = DriverState.busy
    /// Appended since the last fsync.
    private var unsynced = false
    private var lastSyncAt: Instant?
    /// Why the outstanding batch last failed, for the line that reports a drop.
    private var lastFailure: String?
    private nonisolated let wakeups: AsyncStream<Void>
    private nonisolated let wake: AsyncStream<Void>.Continuation
    private nonisolated let stopping = Atomic<Bool>(false)

    /// Opens (and recovers) the spool; what it holds unacknowledged is sent again once `run` starts.
    public init(
        sink: any AuditSink, configuration: Configuration, metrics: AuditMetrics.Backend,
        clock: any ShipperClock = SystemShipperClock(), logger: Logger
    ) throws {
        self.name = sink.backend
        self.configuration = configuration
        self.sink = sink
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        let spool = try BatchSpool(
            .init(
                directory: configuration.spoolDirectory, maxBytes: configuration.spoolMaxBytes,
                segmentBytes: configuration.spoolSegmentBytes, memoryBytes: configuration.spoolMemoryBytes))
        self.spool = spool
        machine = BatchingStateMachine(configuration: configuration.batching)
        offeredThrough = spool.acknowledgedSequence
        spoolDropsCounted = spool.droppedEvents
        dropNotice = DropNotice(interval: configuration.dropNoticeInterval)
        oversizeNotice = DropNotice(interval: configuration.dropNoticeInterval)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        if spool.recovery.unacknowledgedEvents > 0 || spool.recovery.tornRecords > 0 {
            logger.info(
                "audit spool recovered; unsent events will be sent again",
                metadata: [
                    "backend": "\(sink.backend)", "events": "\(spool.recovery.unacknowledgedEvents)",
                    "tornRecords": "\(spool.recovery.tornRecords)",
                    "directory": "\(configuration.spoolDirectory)",
                ])
        }
        metrics.spoolChanged(bytes: spool.spooledBytes, oldestUnsentSince: nil)
    }

    // MARK: - Accepting events

    /// Appends the events to the spool (they count as accepted once there) and queues them for
    /// batching. When the spool is full its oldest events make room, counted and logged.
    public func accept(_ events: [[UInt8]]) async throws {
        guard let truncation = configuration.truncation, events.contains(where: { truncation.isOversized($0) })
        else { return try spool(events) }
        // Rare: an oversized event handed over as bytes is read back to be truncated.
        try spool(
            truncated(
                events.map { json in
                    (
                        json,
                        truncation.isOversized(json)
                            ? try? JSONDecoder().decode(AuditEvent.self, from: Data(json)) : nil
                    )
                }, by: truncation))
    }

    /// The same, for events whose structure comes along: truncating one costs no decoding.
    public func accept(encoded events: [EncodedAuditEvent]) async throws {
        guard let truncation = configuration.truncation, events.contains(where: { truncation.isOversized($0.json) })
        else { return try spool(events.map(\.json)) }
        try spool(truncated(events.map { ($0.json, $0.event) }, by: truncation))
    }

    /// The API server's truncating backend: an event over the limit loses its request and
    /// response objects; one still over it is dropped, counted and logged. An oversized event
    /// that cannot be read back (`event` nil) goes as it is.
    private func truncated(_ events: [(json: [UInt8], event: AuditEvent?)], by truncation: AuditTruncation)
        -> [[UInt8]]
    {
        var kept: [[UInt8]] = []
        kept.reserveCapacity(events.count)
        var dropped = 0
        for (json, event) in events {
            guard truncation.isOversized(json), let event else {
                kept.append(json)
                continue
            }
            if let encoded = truncation.apply(to: event).encoded {
                kept.append(encoded)
            } else {
                dropped += 1
            }
        }
        if dropped > 0 {
            metrics.eventsDropped(dropped)
            if let count = oversizeNotice.record(dropped, now: clock.now) { logOversized(count) }
        }
        return kept
    }

    private func spool(_ events: [[UInt8]]) throws {
        var appended = 0
        var unspooled = 0
        var failure: (any Error)?
        var oneByOne = false
        do {
            // Together in one write when they fit, else one by one (making room as needed).
            if try spool.appendTogether(events) { appended = events.count } else { oneByOne = true }
        } catch {
            unspooled = events.count
            failure = error
        }
        for event in events where oneByOne {
            let droppedBefore = spool.droppedEvents
            do {
                try spool.append(event)
                appended += 1
            } catch {
                // The spool counts an event too large for it; any other failure is counted here.
                if spool.droppedEvents == droppedBefore { unspooled += 1 }
                failure = error
            }
        }
        unsynced = unsynced || appended > 0
        syncSpoolInBackground()
        metrics.eventsAccepted(appended)
        countDrops(extra: unspooled)
        let pendingBefore = machine.pendingCount
        offerBacklog()
        if driverNeedsWaking(pendingBefore: pendingBefore) { wake.yield() }
        publishSpool()
        if let failure { throw failure }
    }

    // MARK: - The driver

    /// Sends until graceful shutdown, then flushes for at most `shutdownFlushTimeout`.
    public func run() async throws {
        var wakeups = self.wakeups.makeAsyncIterator()
        await withGracefulShutdownHandler {
            while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
                let due = await perform(machine.tick(now: clock.now))
                reportDrops()
                guard !stopping.load(ordering: .relaxed) else { break }
                driver = .asleep(until: due)
                let notices = earliest(dropNotice.nextNoticeAt, oversizeNotice.nextNoticeAt)
                await sleep(until: earliest(due, notices), wakeups: &wakeups)
                driverWakeups += 1
            }
        } onGracefulShutdown: {
            self.requestStop()
        }
        await flushForShutdown()
        reportDrops(force: true)
        syncSpool()
        await sink.shutdown()
    }

    /// Whether new events may change what the driver does: it sleeps with nothing to wait for,
    /// or a batch just filled up. Not while it sleeps until a deadline that new events do not
    /// bring forward (the oldest pending event's age, a throttle, a back-off), nor while it is
    /// busy (it decides again when its send returns): under load most appends cost no wake-up.
    private func driverNeedsWaking(pendingBefore: Int) -> Bool {
        guard case .asleep(let until) = driver else { return false }
        let filled =
            pendingBefore < configuration.batching.maxBatchSize
            && machine.pendingCount >= configuration.batching.maxBatchSize
        return until == nil || filled || machine.isFlushing
    }

    /// Spooled events not yet handed to the machine.
    private var hasBacklog: Bool {
        max(offeredThrough, spool.acknowledgedSequence) < spool.lastSequence
    }

    private nonisolated func requestStop() {
        stopping.store(true, ordering: .relaxed)
        wake.yield()
    }

    private func sleep(until deadline: Instant?, wakeups: inout AsyncStream<Void>.Iterator) async {
        defer { driver = .busy }
        let timer = deadline.map { deadline in
            Task { [clock, wake] in
                try await clock.sleep(until: deadline)
                wake.yield()
            }
        }
        _ = await wakeups.next(isolation: self)
        timer?.cancel()
    }

    /// Performs `actions` and whatever they lead to; returns when to look again (nil: when
    /// events arrive).
    private func perform(_ actions: [BatchingAction<UInt64>]) async -> Instant? {
        var queue = actions
        var next = 0
        var due: Instant?
        while true {
            if next == queue.count {
                // Room freed in the machine's buffer: events waiting in the spool join.
                guard offerBacklog() > 0 else { break }
                queue.append(contentsOf: machine.tick(now: clock.now))
                continue
            }
            let action = queue[next]
            next += 1
            switch action {
            case .send(let batch):
                due = nil
                queue.append(contentsOf: await send(batch))
            case .refreshCredentials:
                guard !(await sink.refreshCredentials()) else { continue }
                // No credentials: the send that follows counts as failed and backs off.
                if next < queue.count, case .send(let batch) = queue[next] {
                    next += 1
                    metrics.batchFailed()
                    lastFailure = "the credential refresh failed"
                    queue.append(
                        contentsOf: machine.sendFailed(
                            batchID: batch.id, now: clock.now, kind: .retryable(retryAfter: nil)))
                }
            case .drop(let batch, let reason):
                drop(batch, reason)
            case .wait(let until):
                due = until
            }
        }
        publishSpool()
        return due
    }

    private func send(_ batch: AuditBatch<UInt64>) async -> [BatchingAction<UInt64>] {
        guard let first = batch.eventIDs.first, let last = batch.eventIDs.last else {
            return machine.sendSucceeded(batchID: batch.id, now: clock.now)
        }
        let records: [(sequence: UInt64, payload: [UInt8])]
        do {
            records = try spool.unacknowledged(limit: batch.eventIDs.count).filter {
                $0.sequence >= first && $0.sequence <= last
            }
        } catch {
            logger.error("audit spool unreadable", metadata: ["backend": "\(name)", "error": "\(error)"])
            metrics.batchFailed()
            return machine.sendFailed(batchID: batch.id, now: clock.now, kind: .retryable(retryAfter: nil))
        }
        // Events the full spool dropped meanwhile are gone; an empty batch needs no POST. A
        // batch over the truncation limit goes in parts; a part that fails fails the batch, and
        // the parts already delivered are sent again with it (receivers dedupe by `auditID`).
        let parts =
            records.isEmpty
            ? []
            : configuration.truncation?.batchRanges(eventSizes: records.lazy.map(\.payload.count)) ?? [records.indices]
        for part in parts {
            let body = AuditEventList.jsonBody(encodedEvents: records[part].lazy.map(\.payload))
            switch await sink.send(body) {
            case .delivered:
                continue
            case .failed(let kind, let detail):
                metrics.batchFailed()
                lastFailure = detail
                let level: Logger.Level = kind == .unauthorized && batch.attempt == 1 ? .info : .warning
                logger.log(
                    level: level, "audit batch not delivered; it stays spooled and is sent again",
                    metadata: [
                        "backend": "\(name)", "events": "\(records.count)", "attempt": "\(batch.attempt)",
                        "reason": "\(detail)",
                    ])
                return machine.sendFailed(batchID: batch.id, now: clock.now, kind: kind)
            }
        }
        acknowledge(through: last)
        metrics.batchSent()
        lastFailure = nil
        logger.debug(
            "audit batch delivered",
            metadata: ["backend": "\(name)", "events": "\(records.count)", "attempt": "\(batch.attempt)"])
        return machine.sendSucceeded(batchID: batch.id, now: clock.now)
    }

    private func drop(_ batch: AuditBatch<UInt64>, _ reason: BatchDropReason) {
        guard let last = batch.eventIDs.last else { return }
        acknowledge(through: last)
        metrics.batchDropped()
        metrics.eventsDropped(batch.eventIDs.count)
        guard case .rejected(let status, let attempts) = reason else { return }
        logger.error(
            "audit batch dropped: the sink refused it on every attempt",
            metadata: [
                "backend": "\(name)", "events": "\(batch.eventIDs.count)", "status": "\(status)",
                "attempts": "\(attempts)", "reason": "\(lastFailure ?? "")",
            ])
        lastFailure = nil
    }

    private func acknowledge(through sequence: UInt64) {
        do {
            try spool.acknowledge(through: sequence)
        } catch {
            // The events were delivered; at worst they are sent once more after a restart.
            logger.error("audit spool checkpoint not written", metadata: ["backend": "\(name)", "error": "\(error)"])
        }
    }

    /// Hands the machine as many spooled, not yet offered events as its buffer takes.
    @discardableResult
    private func offerBacklog() -> Int {
        let from = max(offeredThrough, spool.acknowledgedSequence) + 1
        let through = spool.lastSequence
        let room = UInt64(machine.freeBufferSpace)
        guard from <= through, room > 0 else { return 0 }
        let upper = min(through, from + room - 1)
        let taken = machine.enqueue(from...upper, now: clock.now).acceptedCount
        offeredThrough = from + UInt64(taken) - 1
        return taken
    }

    // MARK: - Shutdown

    private func flushForShutdown() async {
        guard !machine.isIdle || hasBacklog else { return }
        let deadline = clock.now + configuration.shutdownFlushTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.drain() }
            group.addTask { [clock] in try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
        let unsent = spool.unacknowledgedCount
        if unsent > 0 {
            logger.warning(
                "audit events not delivered before shutdown stay spooled for the next start",
                metadata: ["backend": "\(name)", "events": "\(unsent)"])
        } else {
            logger.info("audit events flushed", metadata: ["backend": "\(name)"])
        }
    }

    /// Sends everything pending, ignoring batch age and throttle, until nothing is left or a
    /// send fails: a batch that failed during shutdown is not waited for (it would back off),
    /// it stays spooled for the next start.
    private func drain() async {
        _ = await perform(machine.flush(now: clock.now, force: true))
    }

    // MARK: - Bookkeeping

    /// Counts events the full spool dropped (and `extra` that never reached it).
    private func countDrops(extra: Int = 0) {
        let fromSpool = Int(spool.droppedEvents - spoolDropsCounted)
        spoolDropsCounted = spool.droppedEvents
        let dropped = fromSpool + extra
        guard dropped > 0 else { return }
        metrics.eventsDropped(dropped)
        if let count = dropNotice.record(dropped, now: clock.now) { logDrops(count) }
    }

    private func reportDrops(force: Bool = false) {
        if let count = dropNotice.poll(now: clock.now) {
            logDrops(count)
        } else if force, dropNotice.unreported > 0 {
            logDrops(dropNotice.unreported)
        }
        if let count = oversizeNotice.poll(now: clock.now) {
            logOversized(count)
        } else if force, oversizeNotice.unreported > 0 {
            logOversized(oversizeNotice.unreported)
        }
    }

    private func logOversized(_ count: Int) {
        logger.error(
            "audit events dropped: over the size limit even without their request and response objects",
            metadata: [
                "backend": "\(name)", "events": "\(count)",
                "maxEventSize": "\(configuration.truncation?.maxEventSize ?? 0)",
            ])
    }

    private func logDrops(_ count: Int) {
        logger.error(
            "audit events dropped: the spool is full (--audit-spool-max-bytes); the oldest went first",
            metadata: ["backend": "\(name)", "events": "\(count)", "directory": "\(configuration.spoolDirectory)"])
    }

    /// A killed process loses nothing: every append reaches the kernel at once. Against the
    /// machine going down, the spool is fsynced at most once a second while events arrive, on
    /// another thread so that appends never wait for the disk, and at shutdown. (In the chart
    /// the spool is an `emptyDir`, which does not outlive its node anyway.)
    private func syncSpoolInBackground() {
        let now = clock.now
        guard unsynced, lastSyncAt.map({ $0.duration(to: now) >= .seconds(1) }) ?? true,
            let sync = spool.deferredSync()
        else { return }
        unsynced = false
        lastSyncAt = now
        Task.detached { [logger, name] in
            do {
                try sync()
            } catch {
                logger.warning("audit spool not synced", metadata: ["backend": "\(name)", "error": "\(error)"])
            }
        }
    }

    private func syncSpool() {
        guard unsynced else { return }
        unsynced = false
        do {
            try spool.sync()
        } catch {
            logger.warning("audit spool not synced", metadata: ["backend": "\(name)", "error": "\(error)"])
        }
    }

    private func publishSpool() {
        metrics.spoolChanged(bytes: spool.spooledBytes, oldestUnsentSince: machine.oldestUnsentEnqueuedAt)
    }

    private func earliest(_ first: Instant?, _ second: Instant?) -> Instant? {
        switch (first, second) {
        case (let first?, let second?): min(first, second)
        case (let first?, nil): first
        case (nil, let second): second
        }
    }

    // MARK: - For tests and benchmarks

    /// Events in the spool not yet acknowledged.
    public var unacknowledgedCount: UInt64 { spool.unacknowledgedCount }

    /// The machine's running totals.
    public var counters: BatchingCounters { machine.counters }

    /// How often the driver woke up; appends should rarely be the reason.
    private(set) var driverWakeups = 0
}

extension AuditTruncation {
    fileprivate func isOversized(_ json: [UInt8]) -> Bool { json.count > maxEventSize }
}
