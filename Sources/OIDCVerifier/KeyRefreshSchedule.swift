import Foundation

/// Decides when the issuer's JWKS is fetched: on schedule (`Cache-Control: max-age`), after a
/// failure (exponential back-off), and on demand when a token names an unknown `kid`.
///
/// On-demand fetches draw from a token bucket, so a flood of tokens with forged `kid`s costs
/// the issuer at most `unknownKeyBurst` fetches at once and one per `unknownKeyRefillInterval`
/// after that, while a genuine rotation is still picked up at once. Pure; time is a parameter.
public struct KeyRefreshSchedule: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        public var unknownKeyBurst: Double = 3
        public var unknownKeyRefillInterval: TimeInterval = 20
        /// Lower bound on the scheduled refresh, whatever `max-age` says (`max-age=0` included).
        public var minimumRefreshInterval: TimeInterval = 30
        /// Refresh interval when the issuer sends no `max-age`, and upper bound when it does.
        public var maximumRefreshInterval: TimeInterval = 3600
        public var initialBackoff: TimeInterval = 1
        public var maximumBackoff: TimeInterval = 30

        public init() {}
    }

    public let configuration: Configuration
    private var bucket: Double
    private var bucketUpdated: Date
    public private(set) var nextRefresh: Date?
    public private(set) var consecutiveFailures = 0

    public init(configuration: Configuration = .init(), now: Date) {
        self.configuration = configuration
        self.bucket = configuration.unknownKeyBurst
        self.bucketUpdated = now
    }

    /// Whether a token with an unknown `kid` may trigger a fetch now; takes one from the bucket if so.
    public mutating func admitUnknownKeyFetch(now: Date) -> Bool {
        let elapsed = max(0, now.timeIntervalSince(bucketUpdated))
        bucket = min(configuration.unknownKeyBurst, bucket + elapsed / configuration.unknownKeyRefillInterval)
        bucketUpdated = now
        guard bucket >= 1 else { return false }
        bucket -= 1
        return true
    }

    public mutating func fetchSucceeded(now: Date, maxAge: TimeInterval?) {
        consecutiveFailures = 0
        let interval = min(
            configuration.maximumRefreshInterval,
            max(configuration.minimumRefreshInterval, maxAge ?? configuration.maximumRefreshInterval))
        nextRefresh = now.addingTimeInterval(interval)
    }

    /// Records a failed fetch and returns how long to wait before the next try (before jitter).
    public mutating func fetchFailed(now: Date) -> TimeInterval {
        consecutiveFailures += 1
        let delay = min(
            configuration.maximumBackoff,
            configuration.initialBackoff * pow(2, Double(consecutiveFailures - 1)))
        nextRefresh = now.addingTimeInterval(delay)
        return delay
    }

    /// How long the background refresher should sleep before its next fetch (zero: fetch now).
    public func delayUntilNextRefresh(now: Date) -> TimeInterval {
        guard let nextRefresh else { return 0 }
        return max(0, nextRefresh.timeIntervalSince(now))
    }
}
