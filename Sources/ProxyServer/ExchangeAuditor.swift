import Foundation
import NIOHTTP1

/// What the audit step sees of one exchange. ``PolicyAuditor`` turns it into events; without a
/// policy the chain audits into ``DiscardingAuditor``.
public struct ExchangeRecord: Sendable {
    public var auditID: String
    public var method: String
    public var uri: String
    public var username: String?
    public var groups: [String]
    public var sourceIP: String?
    public var userAgent: String?
    public var code: Int
    public var received: Date
    public var completed: Date
    /// Set when the response head went out for a long-running request (a watch, `logs -f`,
    /// exec): its `RequestReceived` and `ResponseStarted` events were recorded then.
    public var responseStarted: Date?
}

/// The audit step of the chain (authenticate → impersonate → audit → forward).
public protocol ExchangeAuditor: Sendable {
    /// Whether exchanges are audited at all (and so get an `Audit-Id`).
    var isEnabled: Bool { get }
    /// Returns once the exchange's events are written to every backend (for a batching sink,
    /// its durable spool), so an event counts as accepted before the request's task ends.
    func record(_ exchange: ExchangeRecord) async
    /// A long-running request's response has started: its first events are recorded now, as
    /// the API server does, not when it ends hours later.
    func recordStart(_ exchange: ExchangeRecord) async
}

extension ExchangeAuditor {
    public func recordStart(_ exchange: ExchangeRecord) async {}
}

public struct DiscardingAuditor: ExchangeAuditor {
    public init() {}
    public var isEnabled: Bool { false }
    public func record(_ exchange: ExchangeRecord) async {}
}
