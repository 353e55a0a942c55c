import AuditBatcher
import Foundation
import Logging
import Synchronization

/// One shipper's spool, batching machine and bookkeeping, with every step that does not wait
/// for the network: appending accepted events, offering them to the machine, reading a batch
/// back, acknowledging it. ``AuditShipper`` keeps it behind a lock and runs each step under it,
/// so request threads append without hopping to another executor, and the driver holds the
/// lock only between its sends, never across one.
final class ShipperState {
    typealias Instant = ContinuousClock.Instant

    enum DriverState {
        case busy
        /// Waiting for events, or for the machine's next deadline (`until`); `wakesAt`: the
        /// earliest of every deadline it sleeps until (the machine's, a sync's, a notice's).
        case asleep(until: Instant?, wakesAt: Instant?)
    }

    enum DriverStep {
        case perform([BatchingAction<UInt64>])
        /// Until events arrive, or `until` at the latest (a batch's age, a back-off, a notice).
        case sleep(until: Instant?)
    }

    /// How a batch is read back from the spool.
    enum BatchRead {
        /// Performed without the lock, then handed to ``contents(of:from:)``.
        case read(SpoolRead)
        /// Nothing to read: the machine's next actions.
        case settled([BatchingAction<UInt64>])
    }

    /// What a batch reads back from the spool.
    enum BatchContents {
        /// The events to post, in parts that each fit the truncation limit.
        case records([SpoolRecordRead], parts: [Range<Int>])
        /// Nothing to post (the spool dropped them, or the spool is unreadable): the machine's
        /// next actions.
        case settled([BatchingAction<UInt64>])
    }

    let name: String
    let configuration: AuditShipper.Configuration
    private let clock: any ShipperClock
    private let metrics: AuditMetrics.Backend
    private let logger: Logger
    private let wake: AsyncStream<Void>.Continuation
    private let spool: BatchSpool
    private let maxBatchSize: Int
    private(set) var machine: BatchingStateMachine<UInt64>
    /// The last sequence number handed to the machine; later ones wait in the spool for room in
    /// the machine's buffer.
    private var offeredThrough: UInt64
    private var spoolDropsCounted: UInt64
    private var spoolRoomDropsCounted: UInt64
    /// Events the full spool dropped to make room, logged at most once an interval.
    private var dropNotice: DropNotice
    /// Events dropped as too large even without their objects, reported apart from a full spool.
    private var oversizeNotice: DropNotice
    private var driver = DriverState.busy
    private var syncPolicy = SpoolSyncPolicy()
    /// Fsyncs started (for tests).
    private(set) var spoolSyncs = 0
    /// A deferred fsync is running: on a hung volume, syncs do not pile up one thread each.
    private let syncRunning = SyncInFlight()
    /// Why the outstanding batch last failed, for the line that reports a drop.
    private var lastFailure: String?
    /// Events recovered from an earlier process: through which sequence number, and when the
    /// oldest of them was received. The batching machine sees them arrive at this start; the
    /// oldest-unsent metric must not (a proxy restarting while the sink is down would otherwise
    /// always look fresh).
    private var recoveredUnsent: (through: UInt64, since: Instant)?
    /// When the events appended by this process arrived.
    private var arrivals = ArrivalLog()
    /// How often the driver woke up; appends should rarely be the reason.
    var driverWakeups = 0

    /// Opens (and recovers) the spool.
    init(
        name: String, configuration: AuditShipper.Configuration, clock: any ShipperClock,
        metrics: AuditMetrics.Backend, logger: Logger, wake: AsyncStream<Void>.Continuation
    ) throws {
        self.name = name
        self.configuration = configuration
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.wake = wake
        spool = try BatchSpool(
            .init(
                directory: configuration.spoolDirectory, maxBytes: configuration.spoolMaxBytes,
                segmentBytes: configuration.spoolSegmentBytes, memoryBytes: configuration.spoolMemoryBytes))
        machine = BatchingStateMachine(configuration: configuration.batching)
        maxBatchSize = configuration.batching.maxBatchSize
        offeredThrough = spool.acknowledgedSequence
        spoolDropsCounted = spool.droppedEvents
        spoolRoomDropsCounted = spool.droppedForRoom
        dropNotice = DropNotice(interval: configuration.dropNoticeInterval)
        oversizeNotice = DropNotice(interval: configuration.dropNoticeInterval)
        if spool.recovery.unacknowledgedEvents > 0 || spool.recovery.tornRecords > 0 {
            logger.info(
                "audit spool recovered; unsent events will be sent again",
                metadata: [
                    "backend": "\(name)", "events": "\(spool.recovery.unacknowledgedEvents)",
                    "tornRecords": "\(spool.recovery.tornRecords)",
                    "directory": "\(configuration.spoolDirectory)",
                ])
        }
        if spool.recovery.unacknowledgedEvents > 0 {
            let oldest = (try? spool.unacknowledged(limit: 1).first?.payload).flatMap(
                AuditTimestamp.requestReceived(inEvent:))
            let age = oldest.map { Date().timeIntervalSince($0.date) } ?? 0
            recoveredUnsent = (spool.lastSequence, clock.now - .seconds(max(age, 0)))
        }
        publishSpool()
        // Recovered events count as arriving now: synced a second from now unless the sink has
        // taken them by then.
        if spool.hasUnsyncedRecords { syncPolicy.appended(oldestUnacknowledgedSince: clock.now) }
    }

    // MARK: - Accepting events

    /// The API server's truncating backend: an event over the limit loses its request and
    /// response objects; one still over it is dropped, counted and logged. An oversized event
    /// that cannot be read back (`event` nil) goes as it is.
    func truncated(_ events: [(json: [UInt8], event: AuditEvent?)], by truncation: AuditTruncation) -> [[UInt8]] {
        let (kept, dropped) = truncation.apply(to: events)
        if dropped > 0 {
            metrics.eventsDropped(dropped)
            if let count = oversizeNotice.record(dropped, now: clock.now) { logOversized(count) }
        }
        return kept
    }

    /// Appends the events to the spool, where they count as accepted, offers them to the machine
    /// and wakes the driver when they change what it does. When the spool is full its oldest
    /// events make room, counted and logged.
    func spool<Event: Collection<UInt8>>(_ events: some Collection<Event>) throws {
        var appended = 0
        var unspooled = 0
        var failure: (any Error)?
        var oneByOne = false
        let checkpointFailuresBefore = spool.checkpointFailures
        do {
            // Together in one write when they fit, else one by one (making room as needed).
            if try spool.appendTogether(events) { appended = events.count } else { oneByOne = true }
        } catch {
            unspooled = events.count
            failure = error
        }
        for event in events where oneByOne {
            do {
                try spool.append(Array(event))
                appended += 1
            } catch {
                // The spool counts an event too large for it; any other failure is counted here,
                // even when the append dropped older events to make room before it failed.
                if (error as? BatchSpool.Failure)?.countedAsDropped != true { unspooled += 1 }
                failure = error
            }
        }
        if spool.checkpointFailures > checkpointFailuresBefore {
            logger.warning(
                "audit spool checkpoint not written while dropping the oldest events; a restart sends some again",
                metadata: ["backend": "\(name)", "directory": "\(configuration.spoolDirectory)"])
        }
        // One clock reading serves the whole append.
        let now = clock.now
        if appended > 0 { arrivals.appended(first: spool.lastSequence - UInt64(appended) + 1, at: now) }
        metrics.eventsAccepted(appended)
        let dropped = countDrops(extra: unspooled)
        let pendingBefore = inPlace { $0.pendingCount }
        offerBacklog(now: now)
        if appended > 0 { syncPolicy.appended(oldestUnacknowledgedSince: oldestUnacknowledgedAt) }
        syncSpoolIfDue(now: now)
        if driverNeedsWaking(pendingBefore: pendingBefore) { wake.yield() }
        // The oldest unsent event changes with an append only when nothing was pending, or when
        // the full spool dropped the oldest to make room.
        if pendingBefore == 0 || dropped { publishSpool() } else { metrics.spoolGrew(bytes: spool.spooledBytes) }
        if let failure { throw failure }
    }

    /// Whether new events may change what the driver does: it sleeps with nothing to wait for,
    /// or a batch just filled up. Not while it sleeps until a deadline that new events do not
    /// bring forward (the oldest pending event's age, a throttle, a back-off), nor while it is
    /// busy (it decides again when its send returns): under load most appends cost no wake-up.
    /// Nor for a sync they make owed, unless it falls before the driver's wake-up (at most the
    /// first append after a sync).
    private func driverNeedsWaking(pendingBefore: Int) -> Bool {
        guard case .asleep(let until, let wakesAt) = driver else { return false }
        let filled = pendingBefore < maxBatchSize && inPlace { $0.pendingCount } >= maxBatchSize
        if until == nil || filled || inPlace({ $0.isFlushing }) { return true }
        guard let syncDue = syncDueAt else { return false }
        return wakesAt.map { syncDue < $0 } ?? true
    }

    /// Hands the machine as many spooled, not yet offered events as its buffer takes.
    @discardableResult
    func offerBacklog(now: Instant) -> Int {
        let from = max(offeredThrough, spool.acknowledgedSequence) + 1
        let through = spool.lastSequence
        let room = UInt64(inPlace { $0.freeBufferSpace })
        guard from <= through, room > 0 else { return 0 }
        let upper = min(through, from + room - 1)
        // What a restart found unsent goes at once, not after --audit-webhook-batch-max-wait (five
        // minutes with Banyan): a proxy restarting more often than that would never resend it.
        let overdue = recoveredUnsent.map { min(upper, $0.through) } ?? 0
        var taken = 0
        if from <= overdue { taken = machine.enqueueOverdue(from...overdue, now: now).acceptedCount }
        if from + UInt64(taken) > overdue, overdue < upper {
            taken += machine.enqueue(max(from, overdue + 1)...upper, now: now).acceptedCount
        }
        offeredThrough = from + UInt64(taken) - 1
        return taken
    }

    /// Spooled events not yet handed to the machine.
    var hasBacklog: Bool {
        max(offeredThrough, spool.acknowledgedSequence) < spool.lastSequence
    }

    // MARK: - The driver's steps

    func flush(force: Bool) -> [BatchingAction<UInt64>] {
        machine.flush(now: clock.now, force: force)
    }

    /// Room freed in the machine's buffer: events waiting in the spool join, and the machine
    /// says what follows. Empty when none were waiting.
    func admitBacklog() -> [BatchingAction<UInt64>] {
        let now = clock.now
        return offerBacklog(now: now) > 0 ? machine.tick(now: now) : []
    }

    /// What the driver does next. Deciding to sleep and saying so happen under the same lock
    /// hold, so an append that comes in after it sees the driver asleep and wakes it when its
    /// events change what is due; one that came before is in the machine already.
    func nextStep() -> DriverStep {
        reportDrops()
        let now = clock.now
        offerBacklog(now: now)
        syncSpoolIfDue(now: now)
        let actions = machine.tick(now: now)
        var due: Instant?
        for action in actions {
            guard case .wait(let until) = action else { return .perform(actions) }
            due = until
        }
        let wakesAt = earliest(
            earliest(due, syncDueAt), earliest(dropNotice.nextNoticeAt, oversizeNotice.nextNoticeAt))
        driver = .asleep(until: due, wakesAt: wakesAt)
        return .sleep(until: wakesAt)
    }

    func awake() {
        driver = .busy
        driverWakeups += 1
    }

    /// How `batch` is read back from the spool: planned here, under the lock, and performed by
    /// the driver without it (a read from a closed segment's file takes about half a
    /// millisecond, which appends on the request path would otherwise wait for).
    func read(_ batch: AuditBatch<UInt64>) -> BatchRead {
        guard !batch.eventIDs.isEmpty else {
            return .settled(machine.sendSucceeded(batchID: batch.id, now: clock.now))
        }
        let missingBefore = spool.missingSegments
        defer {
            if spool.missingSegments > missingBefore {
                logger.error(
                    "audit spool segment files are gone; their events are lost and counted as dropped",
                    metadata: [
                        "backend": "\(name)", "segments": "\(spool.missingSegments - missingBefore)",
                        "directory": "\(configuration.spoolDirectory)",
                    ])
                countDrops()
            }
        }
        do {
            return .read(try spool.planRead(limit: batch.eventIDs.count))
        } catch {
            return .settled(unreadable(batch, error))
        }
    }

    /// `batch`'s events from what its read found, split in the parts it is posted in.
    func contents(of batch: AuditBatch<UInt64>, from outcome: Result<SpoolRead.Outcome, any Error>)
        -> BatchContents
    {
        guard let first = batch.eventIDs.first, let last = batch.eventIDs.last else {
            return .settled(machine.sendSucceeded(batchID: batch.id, now: clock.now))
        }
        let records: [SpoolRecordRead]
        do {
            records = spool.finishRead(try outcome.get()).filter { $0.sequence >= first && $0.sequence <= last }
        } catch {
            return .settled(unreadable(batch, error))
        }
        // Events the full spool dropped meanwhile are gone; an empty batch needs no POST. A
        // batch over the truncation limit goes in parts; a part that fails fails the batch, the
        // parts delivered before it acknowledged (``partlyDelivered(_:)``).
        guard !records.isEmpty else { return .settled(vanished(batch)) }
        let parts =
            configuration.truncation?.batchRanges(
                eventSizes: records.lazy.map { AuditTruncation.encodedSize($0.payload) }) ?? [records.indices]
        return .records(records, parts: parts)
    }

    private func unreadable(_ batch: AuditBatch<UInt64>, _ error: any Error) -> [BatchingAction<UInt64>] {
        logger.error("audit spool unreadable", metadata: ["backend": "\(name)", "error": "\(error)"])
        metrics.batchFailed()
        return machine.sendFailed(batchID: batch.id, now: clock.now, kind: .retryable(retryAfter: nil))
    }

    /// The sink took every part of `batch`, whose `records` were read: its events leave the
    /// spool. Those the full spool dropped while the batch was in flight were counted as
    /// dropped then, and are not counted again as sent: sent and dropped add up to accepted.
    func delivered(_ batch: AuditBatch<UInt64>, records: ArraySlice<SpoolRecordRead>) -> [BatchingAction<UInt64>] {
        let events = stillSpooled(records)
        if let last = batch.eventIDs.last { acknowledge(through: last) }
        metrics.batchSent()
        metrics.eventsSent(events)
        lastFailure = nil
        logger.debug(
            "audit batch delivered",
            metadata: ["backend": "\(name)", "events": "\(events)", "attempt": "\(batch.attempt)"])
        let next = machine.sendSucceeded(batchID: batch.id, now: clock.now)
        syncPolicy.acknowledged(oldestUnacknowledgedSince: oldestUnacknowledgedAt)
        return next
    }

    /// The leading parts of a batch in parts, `records`, were delivered before a part
    /// failed: they leave the spool (a retry reads the batch from the spool's head, so it sends
    /// only the rest; a drop counts only the rest). The batch itself is not done.
    func partlyDelivered(_ records: ArraySlice<SpoolRecordRead>) {
        guard let last = records.last?.sequence else { return }
        metrics.eventsSent(stillSpooled(records))
        acknowledge(through: last)
        syncPolicy.acknowledged(oldestUnacknowledgedSince: oldestUnacknowledgedAt)
    }

    /// How many of `records` the spool still holds unacknowledged (not dropped meanwhile).
    private func stillSpooled(_ records: ArraySlice<SpoolRecordRead>) -> Int {
        let acknowledged = spool.acknowledgedSequence
        return records.reduce(0) { $0 + ($1.sequence > acknowledged ? 1 : 0) }
    }

    /// Every event of `batch` was dropped from the full spool before it was read: nothing to
    /// post, nothing delivered (so not counted as sent, and a back-off against a sink that is
    /// down is not reset by it).
    private func vanished(_ batch: AuditBatch<UInt64>) -> [BatchingAction<UInt64>] {
        if let last = batch.eventIDs.last { acknowledge(through: last) }
        let next = machine.sendUnneeded(batchID: batch.id, now: clock.now)
        syncPolicy.acknowledged(oldestUnacknowledgedSince: oldestUnacknowledgedAt)
        return next
    }

    /// A part of `batch` was not delivered: the batch stays spooled and the machine decides
    /// when it goes again.
    func failed(_ batch: AuditBatch<UInt64>, events: Int, kind: BatchSendFailure, detail: String)
        -> [BatchingAction<UInt64>]
    {
        metrics.batchFailed()
        lastFailure = detail
        let level: Logger.Level = kind == .unauthorized && batch.attempt == 1 ? .info : .warning
        logger.log(
            level: level, "audit batch not delivered; it stays spooled and is sent again",
            metadata: [
                "backend": "\(name)", "events": "\(events)", "attempt": "\(batch.attempt)", "reason": "\(detail)",
            ])
        return machine.sendFailed(batchID: batch.id, now: clock.now, kind: kind)
    }

    /// No credentials to send `batch` with: the send counts as failed and backs off.
    func credentialsMissing(for batch: AuditBatch<UInt64>, retryAfter: Duration? = nil) -> [BatchingAction<UInt64>] {
        metrics.batchFailed()
        lastFailure = "the credential refresh failed"
        return machine.sendFailed(batchID: batch.id, now: clock.now, kind: .retryable(retryAfter: retryAfter))
    }

    func drop(_ batch: AuditBatch<UInt64>, _ reason: BatchDropReason) {
        guard let first = batch.eventIDs.first, let last = batch.eventIDs.last else { return }
        // Those a full spool dropped meanwhile were counted then.
        let acknowledged = spool.acknowledgedSequence
        let stillSpooled = last > acknowledged ? Int(last - max(first, acknowledged + 1) + 1) : 0
        acknowledge(through: last)
        syncPolicy.acknowledged(oldestUnacknowledgedSince: oldestUnacknowledgedAt)
        metrics.batchDropped()
        metrics.eventsDropped(stillSpooled)
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

    /// When the oldest event the sink has not acknowledged arrived, whether the machine holds it
    /// or it still waits in the spool for room in the machine's buffer; for one recovered from
    /// an earlier process, when the oldest recovered event was received. Nil when none waits.
    private var oldestUnacknowledgedAt: Instant? {
        let next = spool.acknowledgedSequence + 1
        guard next <= spool.lastSequence else { return nil }
        if let recovered = recoveredUnsent, next <= recovered.through { return recovered.since }
        return arrivals.arrival(of: next) ?? clock.now
    }

    // MARK: - Bookkeeping

    /// Events in the spool not yet acknowledged.
    var unacknowledgedCount: UInt64 { spool.unacknowledgedCount }

    /// Counts events the full spool dropped (and `extra` that never reached it).
    /// Counts the events dropped since the last count: the spool's, and `extra` it could not
    /// store. Only those dropped to make room in the full spool go into its notice: a write
    /// that failed (a full disk) or an event refused is logged by the audit step with its
    /// error, and a segment gone by ``contents(of:from:)``; blaming `--audit-spool-max-bytes`
    /// for a full disk would have an operator raise it.
    @discardableResult
    private func countDrops(extra: Int = 0) -> Bool {
        let dropped = Int(spool.droppedEvents - spoolDropsCounted) + extra
        let forRoom = Int(spool.droppedForRoom - spoolRoomDropsCounted)
        spoolDropsCounted = spool.droppedEvents
        spoolRoomDropsCounted = spool.droppedForRoom
        if dropped > 0 { metrics.eventsDropped(dropped) }
        if forRoom > 0, let count = dropNotice.record(forRoom, now: clock.now) { logDrops(count) }
        return dropped > 0
    }

    func reportDrops(force: Bool = false) {
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

    /// When the driver must wake for a sync: never while one runs. A sync due meanwhile waits
    /// for it to end (which wakes the driver); a due time already past would have the driver
    /// wake at once, find the sync still running, and go round again, spinning a core for as
    /// long as a slow disk took.
    private var syncDueAt: Instant? {
        syncRunning.isRunning ? nil : syncPolicy.dueAt
    }

    /// Fsyncs the spool when ``SpoolSyncPolicy`` says an event waiting for the sink is owed it,
    /// on a thread of its own, so that appends never wait for the disk, and a hung volume blocks
    /// no thread of Swift's cooperative pool (two on a two-core node). (In the chart the spool is
    /// an `emptyDir`, which does not outlive its node anyway.)
    private func syncSpoolIfDue(now: Instant) {
        // Asked again while the last is running (the disk is slow or hung): left until it ends,
        // so that syncs never pile up a blocked thread each.
        guard !syncRunning.isRunning, syncPolicy.syncNow(at: now), let sync = spool.deferredSync()
        else { return }
        spoolSyncs += 1
        syncRunning.isRunning = true
        let thread = Thread { [logger, name, syncRunning, wake] in
            do {
                try sync()
            } catch {
                logger.warning("audit spool not synced", metadata: ["backend": "\(name)", "error": "\(error)"])
            }
            syncRunning.isRunning = false
            // A sync may have come due while this one ran.
            wake.yield()
        }
        thread.name = "audit-spool-sync"
        thread.start()
    }

    /// At shutdown, what still waits for the sink is synced before the process goes.
    func syncSpool() {
        guard syncPolicy.syncAtShutdown(unacknowledged: spool.unacknowledgedCount > 0) else { return }
        spoolSyncs += 1
        do {
            try spool.sync()
        } catch {
            logger.warning("audit spool not synced", metadata: ["backend": "\(name)", "error": "\(error)"])
        }
    }

    func publishSpool() {
        if let recovered = recoveredUnsent, spool.acknowledgedSequence >= recovered.through { recoveredUnsent = nil }
        metrics.spoolChanged(bytes: spool.spooledBytes, oldestUnsentSince: oldestUnacknowledgedAt)
    }

    /// Reads the machine where it lies. A plain read of a struct stored in a class copies it
    /// whole first (a retain and a release of each of its buffers: about 2.5 µs per exchange in
    /// the running proxy's profile); an inout access does not.
    private func inPlace<Result>(_ read: (inout BatchingStateMachine<UInt64>) -> Result) -> Result {
        read(&machine)
    }

    private func earliest(_ first: Instant?, _ second: Instant?) -> Instant? {
        switch (first, second) {
        case (let first?, let second?): min(first, second)
        case (let first?, nil): first
        case (nil, let second): second
        }
    }
}

/// Whether a deferred spool sync is running, shared with the task that runs it.
private final class SyncInFlight: Sendable {
    private let running = Atomic<Bool>(false)

    var isRunning: Bool {
        get { running.load(ordering: .acquiring) }
        set { running.store(newValue, ordering: .releasing) }
    }
}
