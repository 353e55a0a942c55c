/// Where the audit step hands the events of one exchange, already encoded as JSON: the log
/// file, and a shipper per batching sink (webhook, Banyan). When `accept` returns, the events
/// are written (to the log, or to the shipper's durable spool). Synchronous: the audit step runs on
/// the exchange's event loop and writes there, with no hop to another executor.
public protocol AuditBackend: Sendable {
    /// Names the backend in logs and metrics: `log`, `webhook`, `banyan`.
    var name: String { get }
    func accept(_ events: [[UInt8]]) throws
    /// The same, with each event's structure alongside its bytes (the audit step has both);
    /// backends that only write bytes need not implement it.
    func accept(encoded events: [EncodedAuditEvent]) throws
    /// The same, lent from one buffer (``ExchangeEventsJSON``) when no backend reshapes events:
    /// copied where they go, without an array per event on the way.
    func accept(json events: EncodedEvents) throws
    /// Whether `accept(encoded:)` reads the events' structure, not only their bytes (a
    /// truncating sink does); when no backend does, the audit step does not keep it.
    var reshapesEvents: Bool { get }
}

extension AuditBackend {
    public func accept(encoded events: [EncodedAuditEvent]) throws {
        try accept(events.map { $0.json })
    }

    public func accept(json events: EncodedEvents) throws {
        try accept(events.map { Array($0) })
    }

    public var reshapesEvents: Bool { false }
}

extension AuditLogFile: AuditBackend {
    public var name: String { "log" }

    public func accept(_ events: [[UInt8]]) throws {
        try append(contentsOf: events)
    }

    public func accept(encoded events: [EncodedAuditEvent]) throws {
        try append(contentsOf: events.lazy.map { $0.json })
    }

    public func accept(json events: EncodedEvents) throws {
        try append(contentsOf: events)
    }
}
