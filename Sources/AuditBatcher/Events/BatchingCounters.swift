/// Running totals for the `kube_oidc_proxy_audit_*` metrics.
public struct BatchingCounters: Sendable, Hashable {
    /// Batches the sink acknowledged.
    public var batchesSent = 0
    /// Send attempts that failed, whatever the reason.
    public var batchesFailed = 0
    public var batchesDropped = 0
    public var eventsSent = 0
    public var eventsDropped = 0

    public init() {}
}
