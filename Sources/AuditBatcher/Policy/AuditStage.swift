/// The point in a request's life at which an audit event is emitted, as in `audit.k8s.io/v1`.
public enum AuditStage: String, Codable, CaseIterable, Hashable, Sendable {
    /// As soon as the request is received, before it is handled.
    case requestReceived = "RequestReceived"
    /// Once the response headers are sent; only long-running requests (watch, exec) have it.
    case responseStarted = "ResponseStarted"
    /// Once the response body is complete.
    case responseComplete = "ResponseComplete"
    /// When handling the request crashed.
    case panic = "Panic"
}
