/// When a shipper fsyncs its spool. A killed process loses nothing either way (every append
/// reaches the page cache at once); the fsync is what survives the machine going down, and it
/// is owed only to events still waiting for the sink: an event that has waited `interval`
/// unacknowledged is on stable storage by then, at most one sync per `interval`.
///
/// Events the sink acknowledges sooner are never synced. With a sink that keeps up, that is all
/// of them: their segment is deleted before the kernel would write its pages back (after 30 s
/// by default), so the disk never sees them, where a sync every second wrote each event out
/// (about 1.7 µs of the proxy's CPU per exchange in the benchmark, plus the device's work).
///
/// Pure: the shipper passes the time, and when its oldest unacknowledged event arrived (the
/// batching machine knows; events still waiting in the spool for room in its buffer arrived
/// later, so they are covered). That instant only moves later, so the due time worked out when
/// it last changed (an acknowledgement, or an append into an empty spool) never comes after the
/// real one: appends in between only compare instants.
struct SpoolSyncPolicy: Sendable {
    typealias Instant = ContinuousClock.Instant

    let interval: Duration
    /// Appended since the last sync started.
    private(set) var hasUnsynced = false
    private var lastSyncAt: Instant?
    /// When the next sync is owed; nil while nothing appended since the last one waits unacknowledged.
    private(set) var dueAt: Instant?

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Events were appended; `oldest` is read only when nothing was owed a sync before.
    mutating func appended(oldestUnacknowledgedSince oldest: @autoclosure () -> Instant?) {
        hasUnsynced = true
        if dueAt == nil { dueAt = due(oldestUnacknowledgedSince: oldest()) }
    }

    /// Events left the spool (the sink took them, or they were dropped): the oldest waiting one changed.
    mutating func acknowledged(oldestUnacknowledgedSince oldest: Instant?) {
        dueAt = hasUnsynced ? due(oldestUnacknowledgedSince: oldest) : nil
    }

    /// Whether to sync now; if so, counts it as started (events appended from now on are owed the next one).
    mutating func syncNow(at now: Instant) -> Bool {
        guard let dueAt, dueAt <= now else { return false }
        hasUnsynced = false
        lastSyncAt = now
        self.dueAt = nil
        return true
    }

    /// At shutdown: whether anything appended since the last sync still waits for the sink.
    mutating func syncAtShutdown(unacknowledged: Bool) -> Bool {
        defer {
            hasUnsynced = false
            dueAt = nil
        }
        return hasUnsynced && unacknowledged
    }

    private func due(oldestUnacknowledgedSince oldest: Instant?) -> Instant? {
        guard let oldest else { return nil }
        let owed = oldest + interval
        guard let lastSyncAt else { return owed }
        return max(owed, lastSyncAt + interval)
    }
}
