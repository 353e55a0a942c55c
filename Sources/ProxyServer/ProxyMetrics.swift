import Prometheus

/// The metrics SPEC section 6 names, in one Prometheus registry served on `/metrics`.
public final class ProxyMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let latency: DurationHistogram
    private let tlsHandshakeFailures: Counter
    private let bareConnections: Counter

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
        bareConnections = registry.makeCounter(
            descriptor: Self.name(
                "bare_tcp_connections", unit: "total",
                help: "Connections closed before sending a byte (TCP health checks)"))
    }

    func requestCompleted(method: String, code: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("code", String(code)), ("method", method)])
            .increment()
        latency.record(duration)
    }

    func tokenVerification(result: String) {
        registry.makeCounter(descriptor: Self.verifications, labels: [("result", result)]).increment()
    }

    func upstreamError(_ kind: String) {
        registry.makeCounter(descriptor: Self.upstreamErrors, labels: [("kind", kind)]).increment()
    }

    func tlsHandshakeFailed() { tlsHandshakeFailures.increment() }
    func bareConnectionClosed() { bareConnections.increment() }

    /// The Prometheus text exposition of every metric; `jwksFetches` is read at scrape time.
    public func exposition(jwksFetches: Int) -> [UInt8] {
        registry.makeGauge(descriptor: Self.jwksFetches).set(Int64(jwksFetches))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
