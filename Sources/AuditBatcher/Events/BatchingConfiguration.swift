/// The `--audit-webhook-batch-*` settings, with the API server's defaults.
public struct BatchingConfiguration: Sendable, Hashable {
    /// The wait the Banyan chart uses; the caller passes it when the Banyan sink is on and
    /// `--audit-webhook-batch-max-wait` was not given.
    public static let banyanMaxBatchWait: Duration = .seconds(300)

    /// A token bucket: one token per batch sent.
    public struct Throttle: Sendable, Hashable {
        public var qps: Double
        public var burst: Int

        /// `qps` must be positive and `burst` at least 1; the flags layer rejects other values.
        public init(qps: Double = 10, burst: Int = 15) {
            precondition(qps > 0 && burst >= 1, "throttle needs qps > 0 and burst >= 1")
            self.qps = qps
            self.burst = burst
        }
    }

    /// A batch is cut as soon as this many events are pending.
    public var maxBatchSize: Int
    /// A batch is cut when its oldest pending event has waited this long.
    public var maxBatchWait: Duration
    /// Pending events held in memory; beyond it `enqueue` refuses and the events stay spooled.
    public var bufferSize: Int
    /// Nil when `--audit-webhook-batch-throttle-enable=false`.
    public var throttle: Throttle?
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Back-off delays vary by this fraction either way so that replicas do not retry in step.
    public var jitter: Double
    /// Sends refused with a 4xx other than 401/429 before the batch is dropped.
    public var maxRejectedAttempts: Int

    public init(
        maxBatchSize: Int = 400,
        maxBatchWait: Duration = .seconds(30),
        bufferSize: Int = 10_000,
        throttle: Throttle? = Throttle(),
        initialBackoff: Duration = .seconds(10),
        maxBackoff: Duration = .seconds(300),
        jitter: Double = 0.2,
        maxRejectedAttempts: Int = 5
    ) {
        precondition(maxBatchSize >= 1 && bufferSize >= 1 && maxRejectedAttempts >= 1)
        self.maxBatchSize = maxBatchSize
        self.maxBatchWait = maxBatchWait
        self.bufferSize = bufferSize
        self.throttle = throttle
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.jitter = min(max(jitter, 0), 1)
        self.maxRejectedAttempts = maxRejectedAttempts
    }
}
