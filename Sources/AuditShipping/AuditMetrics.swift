import Prometheus
import Synchronization

/// The audit metrics of SPEC section 7, on the proxy's Prometheus registry, each labelled with
/// the batching backend (`banyan`, `webhook`) whose spool it describes:
/// `kube_oidc_proxy_audit_events_total{result="accepted"|"sent"|"dropped"}`,
/// `kube_oidc_proxy_audit_batches_total{result="sent"|"failed"|"dropped"}`,
/// `kube_oidc_proxy_audit_spool_bytes`, `kube_oidc_proxy_audit_oldest_unsent_event_age_seconds`.
public final class AuditMetrics: Sendable {
    /// The metrics of one backend, made once so the hot path does no registry look-up.
    public struct Backend: Sendable {
        public let name: String
        let accepted: Counter
        let sent: Counter
        let dropped: Counter
        let batchesSent: Counter
        let batchesFailed: Counter
        let batchesDropped: Counter
        let spool: SpoolReading

        func eventsAccepted(_ count: Int) { if count > 0 { accepted.increment(by: Int64(count)) } }
        func eventsSent(_ count: Int) { if count > 0 { sent.increment(by: Int64(count)) } }
        func eventsDropped(_ count: Int) { if count > 0 { dropped.increment(by: Int64(count)) } }
        func batchSent() { batchesSent.increment() }
        func batchFailed() { batchesFailed.increment() }
        func batchDropped() { batchesDropped.increment() }

        /// What the spool holds now. Every append calls it, so it only stores two words; the
        /// gauges read them at scrape time.
        func spoolChanged(bytes: UInt64, oldestUnsentSince: ContinuousClock.Instant?) {
            spool.bytes.store(bytes, ordering: .relaxed)
            spool.since.store(
                oldestUnsentSince.map { spool.reference.duration(to: $0).nanoseconds } ?? SpoolReading.nothingUnsent,
                ordering: .relaxed)
        }

        /// The spool grew and its oldest unsent event is the same as before.
        func spoolGrew(bytes: UInt64) {
            spool.bytes.store(bytes, ordering: .relaxed)
        }
    }

    /// One backend's spool as its last append or send left it, and the gauges it is read into.
    final class SpoolReading: Sendable {
        static let nothingUnsent = Int64.min
        let bytes = Atomic<UInt64>(0)
        /// When the oldest unsent event was enqueued, in nanoseconds after `reference`.
        let since = Atomic<Int64>(nothingUnsent)
        let reference: ContinuousClock.Instant
        let bytesGauge: Gauge
        let ageGauge: Gauge

        init(reference: ContinuousClock.Instant, bytesGauge: Gauge, ageGauge: Gauge) {
            self.reference = reference
            self.bytesGauge = bytesGauge
            self.ageGauge = ageGauge
        }

        func publish(now: ContinuousClock.Instant) {
            bytesGauge.set(Int64(clamping: bytes.load(ordering: .relaxed)))
            var seconds = 0.0
            let since = since.load(ordering: .relaxed)
            if since != Self.nothingUnsent {
                let age = (reference + .nanoseconds(since)).duration(to: now)
                if age > .zero {
                    let (whole, fraction) = age.components
                    seconds = Double(whole) + Double(fraction) * 1e-18
                }
            }
            ageGauge.set(seconds)
        }
    }

    public let registry: PrometheusCollectorRegistry
    private let spools = Mutex<[SpoolReading]>([])
    private let reference = ContinuousClock.now

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "kube_oidc_proxy", metricName: metric, unitName: unit, helpText: help)
    }

    /// The metrics of the backend `name`; call once per backend.
    public func backend(_ name: String) -> Backend {
        let events = Self.name(
            "audit_events", unit: "total",
            help: "Audit events accepted into a backend's spool, sent (the sink took them), or dropped")
        let batches = Self.name("audit_batches", unit: "total", help: "Audit batch sends by result")
        func counter(_ descriptor: MetricNameDescriptor, _ result: String) -> Counter {
            registry.makeCounter(descriptor: descriptor, labels: [("result", result), ("backend", name)])
        }
        let age = registry.makeGauge(
            descriptor: Self.name(
                "audit_oldest_unsent_event_age", unit: "seconds",
                help: "Age of the oldest audit event the sink has not acknowledged yet"),
            labels: [("backend", name)])
        let spool = SpoolReading(
            reference: reference,
            bytesGauge: registry.makeGauge(
                descriptor: Self.name("audit_spool", unit: "bytes", help: "Bytes in the durable audit spool"),
                labels: [("backend", name)]),
            ageGauge: age)
        spools.withLock { $0.append(spool) }
        return Backend(
            name: name, accepted: counter(events, "accepted"), sent: counter(events, "sent"),
            dropped: counter(events, "dropped"),
            batchesSent: counter(batches, "sent"), batchesFailed: counter(batches, "failed"),
            batchesDropped: counter(batches, "dropped"), spool: spool)
    }

    /// Call before a scrape: brings the spool gauges up to date, the ages up to `now`.
    public func refresh(now: ContinuousClock.Instant = .now) {
        for spool in spools.withLock({ $0 }) { spool.publish(now: now) }
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
