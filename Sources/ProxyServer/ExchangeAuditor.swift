import AuditBatcher
import Foundation
import NIOHTTP1

/// How one exchange is audited, decided once when its user is known (or known to be nobody: a
/// refused request is audited too): the policy's verdict, and the request's `RequestInfo`,
/// derived once and reused for every event of the exchange.
public struct AuditDecision: Sendable {
    public var config: RequestAuditConfig
    /// nil when nothing is audited.
    public var requestInfo: RequestInfo?

    public init(config: RequestAuditConfig, requestInfo: RequestInfo?) {
        self.config = config
        self.requestInfo = requestInfo
    }

    public static let none = AuditDecision(config: RequestAuditConfig(level: .none), requestInfo: nil)

    public var level: AuditLevel { config.level }

    /// Whether `body` is copied as it streams past, for the event's `requestObject` or
    /// `responseObject`.
    func records(_ body: AuditedBody, isLongRunning: Bool, contentType: String?, contentEncoding: String?) -> Bool {
        guard let requestInfo else { return false }
        return body.isRecorded(
            level: config.level, isResourceRequest: requestInfo.isResourceRequest, isLongRunning: isLongRunning,
            contentType: contentType, contentEncoding: contentEncoding)
    }
}

/// What the audit step sees of one exchange. ``PolicyAuditor`` turns it into events; without a
/// policy the chain audits into ``DiscardingAuditor``.
public struct ExchangeRecord: Sendable {
    public var auditID: String
    public var method: String
    public var uri: String
    public var username: String?
    public var groups: [String]
    /// As the API server lists them (``SourceIPs``): forwarding headers' addresses, then the peer.
    public var sourceIPs: [String]
    public var userAgent: String?
    public var code: Int
    public var received: Date
    public var completed: Date
    /// Set when the response head went out for a long-running request (a watch, `logs -f`,
    /// exec): its `RequestReceived` and `ResponseStarted` events were recorded then.
    public var responseStarted: Date?
    /// The request body, at level `Request` and above, when it was JSON.
    public var requestObject: RawJSON? = nil
    /// The response body, at level `RequestResponse`, when it was JSON.
    public var responseObject: RawJSON? = nil
    /// A body was over the capture bound: the event says so instead of carrying it.
    public var objectsTruncated = false
    /// Why the response was cut short after its head went out, by a failure on the API server's
    /// side or the proxy's (not by the client leaving): the exchange ends in a `Panic` event.
    public var cutShort: String? = nil
    /// The `Status` the exchange was answered with: the proxy's own (401, 403, 502, 504), or an
    /// error's from the API server, read from its body. The event carries its status, reason,
    /// message and details, as the API server's events do.
    public var refusal: AuditResponseStatus? = nil
    /// Refused at authentication: as the API server's failed-authentication audit, the exchange
    /// is one `ResponseStarted` event (no `RequestReceived`, no `ResponseComplete`).
    public var authenticationFailed = false

    public init(
        auditID: String, method: String, uri: String, username: String?, groups: [String], sourceIPs: [String],
        userAgent: String?, code: Int, received: Date, completed: Date, responseStarted: Date? = nil,
        authenticationFailed: Bool = false
    ) {
        self.authenticationFailed = authenticationFailed
        self.auditID = auditID
        self.method = method
        self.uri = uri
        self.username = username
        self.groups = groups
        self.sourceIPs = sourceIPs
        self.userAgent = userAgent
        self.code = code
        self.received = received
        self.completed = completed
        self.responseStarted = responseStarted
    }
}

/// The audit step of the chain (authenticate → impersonate → audit → forward).
public protocol ExchangeAuditor: Sendable {
    /// Whether exchanges are audited at all (and so get an `Audit-Id`).
    var isEnabled: Bool { get }
    /// How much of the exchange is recorded; asked once per exchange.
    func decide(method: String, uri: String, username: String?, groups: [String]) -> AuditDecision
    /// Returns once the exchange's events are written to every backend (for a batching sink,
    /// its durable spool). The chain calls it before the client can see the response complete,
    /// on the exchange's event loop: synchronous, so writing costs no hop to another thread.
    func record(_ exchange: ExchangeRecord, as decision: AuditDecision)
    /// A long-running request's response has started: its first events are recorded now, as
    /// the API server does, not when it ends hours later.
    func recordStart(_ exchange: ExchangeRecord, as decision: AuditDecision)
}

public struct DiscardingAuditor: ExchangeAuditor {
    public init() {}
    public var isEnabled: Bool { false }
    public func decide(method: String, uri: String, username: String?, groups: [String]) -> AuditDecision { .none }
    public func record(_ exchange: ExchangeRecord, as decision: AuditDecision) {}
    public func recordStart(_ exchange: ExchangeRecord, as decision: AuditDecision) {}
}
