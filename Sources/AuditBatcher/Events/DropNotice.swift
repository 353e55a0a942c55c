/// Whether a "dropped N audit events" line may be logged now: at most one line per `interval`,
/// each carrying the count accumulated since the previous line, so a full spool under load
/// produces one line a minute rather than one per request.
public struct DropNotice: Sendable, Hashable {
    public let interval: Duration
    /// Drops recorded but not yet reported in a line.
    public private(set) var unreported = 0
    private var lastNoticeAt: ContinuousClock.Instant?

    public init(interval: Duration = .seconds(60)) {
        self.interval = interval
    }

    /// Records `count` drops; returns the count to log now, or nil while the last line is recent.
    public mutating func record(_ count: Int, now: ContinuousClock.Instant) -> Int? {
        unreported += count
        return poll(now: now)
    }

    /// Returns the accumulated count when a line is due now (call it on a timer so drops that
    /// stopped still get reported), else nil.
    public mutating func poll(now: ContinuousClock.Instant) -> Int? {
        guard unreported > 0 else { return nil }
        if let lastNoticeAt, now < lastNoticeAt + interval { return nil }
        defer { unreported = 0 }
        lastNoticeAt = now
        return unreported
    }

    /// When `poll` will next have something to say, or nil when nothing is waiting.
    public var nextNoticeAt: ContinuousClock.Instant? {
        guard unreported > 0 else { return nil }
        return lastNoticeAt.map { $0 + interval }
    }
}
