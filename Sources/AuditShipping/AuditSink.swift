import AuditBatcher

/// A batching audit sink: the Banyan REST API or an audit webhook. It posts one batch body (an
/// `audit.k8s.io/v1` `EventList`) and says how it went; ``AuditShipper`` decides what happens next.
public protocol AuditSink: Sendable {
    /// The `backend` label of the metrics and the spool's sub-directory: `banyan`, `webhook`.
    var backend: String { get }

    /// POSTs `body`. Never throws: every failure is classified.
    func send(_ body: [UInt8]) async -> SinkAnswer

    /// Obtains fresh credentials (the Banyan access token) before the next send. A failure is
    /// a retryable failure of that send, backing off at least as long as the exchange's server
    /// asked (`Retry-After`).
    func refreshCredentials() async -> CredentialRefresh

    /// Releases the HTTP client.
    func shutdown() async
}

/// How a credential refresh went.
public enum CredentialRefresh: Sendable, Equatable {
    case refreshed
    /// `retryAfter`: the wait the exchange's answer asked for, if any.
    case failed(retryAfter: Duration?)
}

/// How a send went, as the sink classifies the server's answer.
public enum SinkAnswer: Sendable, Equatable {
    case delivered
    /// `detail` says why, for the log: the status and the server's message (truncated), or the
    /// network error. It never holds a credential.
    case failed(BatchSendFailure, detail: String)
}
