import Prometheus
import Synchronization

/// The audit metrics of SPEC section 7, on the proxy's Prometheus registry, each labelled with
/// the batching backend (`banyan`, `webhook`) whose spool it describes:
/// `kube_oidc_proxy_audit_events_total{result="accepted"|"dropped"}`,
/// `kube_oidc_proxy_audit_batches_total{result="sent"|"failed"|"dropped"}`,
/// `kube_oidc_proxy_audit_spool_bytes`, `kube_oidc_proxy_audit_oldest_unsent_event_age_seconds`.
public final class AuditMetrics: Sendable {
    /// The metrics of one backend, made once so the hot path does no registry look-up.
    public struct Backend: Sendable {
        public let name: String
        let accepted: Counter
        let dropped: Counter
        let batchesSent: Counter
        let batchesFailed: Counter
        let batchesDropped: Counter
        let spoolBytes: Gauge
        let metrics: AuditMetrics

        func eventsAccepted(_ count: Int) { if count > 0 { accepted.increment(by: Int64(count)) } }
        func eventsDropped(_ count: Int) { if count > 0 { dropped.increment(by: Int64(count)) } }
        func batchSent() { batchesSent.increment() }
        func batchFailed() { batchesFailed.increment() }
        func batchDropped() { batchesDropped.increment() }

        /// What the spool holds now; the age gauge is brought up to date at scrape time.
        func spoolChanged(bytes: UInt64, oldestUnsentSince: ContinuousClock.Instant?) {
            spoolBytes.set(Int64(clamping: bytes))
            metrics.ages.withLock { $0[name]?.since = oldestUnsentSince }
        }
    }

    private struct Age {
        let gauge: Gauge
        var since: ContinuousClock.Instant?
    }

    public let registry: PrometheusCollectorRegistry
    private let ages = Mutex<[String: Age]>([:])

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "kube_oidc_proxy", metricName: metric, unitName: unit, helpText: help)
    }

    /// The metrics of the backend `name`; call once per backend.
    public func backend(_ name: String) -> Backend {
        let events = Self.name(
            "audit_events", unit: "total", help: "Audit events accepted into a backend's spool, or dropped")
        let batches = Self.name("audit_batches", unit: "total", help: "Audit batch sends by result")
        func counter(_ descriptor: MetricNameDescriptor, _ result: String) -> Counter {
            registry.makeCounter(descriptor: descriptor, labels: [("result", result), ("backend", name)])
        }
        let age = registry.makeGauge(
            descriptor: Self.name(
                "audit_oldest_unsent_event_age", unit: "seconds",
                help: "Age of the oldest audit event the sink has not acknowledged yet"),
            labels: [("backend", name)])
        ages.withLock { $0[name] = Age(gauge: age) }
        return Backend(
            name: name, accepted: counter(events, "accepted"), dropped: counter(events, "dropped"),
            batchesSent: counter(batches, "sent"), batchesFailed: counter(batches, "failed"),
            batchesDropped: counter(batches, "dropped"),
            spoolBytes: registry.makeGauge(
                descriptor: Self.name("audit_spool", unit: "bytes", help: "Bytes in the durable audit spool"),
                labels: [("backend", name)]),
            metrics: self)
    }

    /// Call before a scrape: brings the age gauges up to `now`.
    public func refresh(now: ContinuousClock.Instant = .now) {
        ages.withLock { ages in
            for age in ages.values {
                var seconds = 0.0
                if let since = age.since, since < now {
                    let (whole, fraction) = since.duration(to: now).components
                    seconds = Double(whole) + Double(fraction) * 1e-18
                }
                age.gauge.set(seconds)
            }
        }
    }
}
