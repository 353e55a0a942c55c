import Prometheus
import Synchronization

/// The metrics SPEC section 6 names, in one Prometheus registry served on `/metrics`.
public final class ProxyMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let latency: DurationHistogram
    private let tlsHandshakeFailures: Counter
    private let bareConnections: Counter
    private let requests: CounterFamily
    private let verifications: CounterFamily
    private let upstreamErrors: CounterFamily
    /// A counter, as its `_total` name says (it was exposed as a gauge).
    private let jwksFetchCounter: Counter
    private let jwksFetchesExported = Mutex(0)

    static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "kube_oidc_proxy", metricName: metric, unitName: unit, helpText: help)
    }

    static var requests: MetricNameDescriptor {
        name("http_requests", unit: "total", help: "Requests answered, by status code and method")
    }
    static var verifications: MetricNameDescriptor {
        name(
            "token_verifications", unit: "total",
            help: "Bearer token verifications by result (ok or the refusal reason)")
    }
    static var upstreamErrors: MetricNameDescriptor {
        name("upstream_errors", unit: "total", help: "Requests the API server could not answer")
    }
    static var jwksFetches: MetricNameDescriptor {
        name("jwks_fetches", unit: "total", help: "Fetches of the issuer's JWKS")
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        latency = registry.makeDurationHistogram(
            descriptor: Self.name(
                "http_request_duration", unit: "seconds",
                help: "Time from request head to response end, through the proxy"),
            buckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
                .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
            ])
        tlsHandshakeFailures = registry.makeCounter(
            descriptor: Self.name("tls_handshake_failures", unit: "total", help: "TLS handshakes that failed"))
        requests = CounterFamily(registry, Self.requests, labels: "code", "method")
        verifications = CounterFamily(registry, Self.verifications, labels: "result")
        upstreamErrors = CounterFamily(registry, Self.upstreamErrors, labels: "kind")
        jwksFetchCounter = registry.makeCounter(descriptor: Self.jwksFetches)
        bareConnections = registry.makeCounter(
            descriptor: Self.name(
                "bare_tcp_connections", unit: "total",
                help: "Connections closed before sending a byte (TCP health checks)"))
    }

    func requestCompleted(method: String, code: Int, duration: Duration) {
        requests.counter(String(code), Self.methodLabel(method)).increment()
        latency.record(duration)
    }

    /// The `method` label: the standard methods as they are, anything else `other`. HTTP/2
    /// passes any `:method` through, so a client (before authentication) could otherwise make
    /// one series per string it sends, growing the registry and every scrape without bound.
    static func methodLabel(_ method: String) -> String {
        switch method {
        case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE": method
        default: "other"
        }
    }

    func tokenVerification(result: String) {
        verifications.counter(result).increment()
    }

    func upstreamError(_ kind: String) {
        upstreamErrors.counter(kind).increment()
    }

    func tlsHandshakeFailed() { tlsHandshakeFailures.increment() }
    func bareConnectionClosed() { bareConnections.increment() }

    /// The Prometheus text exposition of every metric; `jwksFetches` (the verifier's count
    /// so far) is read at scrape time and brought into its counter.
    public func exposition(jwksFetches: Int) -> [UInt8] {
        let added = jwksFetchesExported.withLock { exported in
            defer { exported = max(exported, jwksFetches) }
            return max(0, jwksFetches - exported)
        }
        jwksFetchCounter.increment(by: Int64(added))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// One counter per combination of label values, looked up in a dictionary: asking the registry
/// builds the metric's name and takes the registry's lock on every request.
final class CounterFamily: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: String
    private let help: String
    private let labels: [String]
    private let counters = Mutex<[[String]: Counter]>([:])

    init(_ registry: PrometheusCollectorRegistry, _ descriptor: MetricNameDescriptor, labels: String...) {
        self.registry = registry
        self.name = descriptor.name
        self.help = descriptor.helpText ?? ""
        self.labels = labels
    }

    func counter(_ values: String...) -> Counter {
        if let counter = counters.withLock({ $0[values] }) { return counter }
        let counter = registry.makeCounter(name: name, labels: Array(zip(labels, values)), help: help)
        counters.withLock { $0[values] = counter }
        return counter
    }
}
