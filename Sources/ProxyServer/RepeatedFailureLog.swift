import AuditBatcher
import Synchronization

/// Failures that would otherwise be logged once per request (the API server unreachable, an
/// audit backend on a full disk): the first is logged at once, then at most one line per
/// `interval` for each kind, saying how many requests it stands for. The metrics count every
/// one; a line per request would flood the log (2,000 a second at a moderate load).
final class RepeatedFailureLog: Sendable {
    let interval: Duration
    private let notices = Mutex<[String: DropNotice]>([:])

    init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// Another failure of `kind`: how many the line to log now stands for, or nil when the last
    /// line of this kind is too recent.
    func occurred(_ kind: String, now: ContinuousClock.Instant = .now) -> Int? {
        notices.withLock { $0[kind, default: DropNotice(interval: interval)].record(1, now: now) }
    }
}
