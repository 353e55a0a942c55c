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
        guard let truncation, events.contains(where: { truncation.isOversized($0) }) else {
            return try append(contentsOf: events)
        }
        try append(events.map { ($0, truncation.structureIfOversized($0)) }, truncatedBy: truncation)
    }

    public func accept(encoded events: [EncodedAuditEvent]) throws {
        guard let truncation, events.contains(where: { truncation.isOversized($0.json) }) else {
            return try append(contentsOf: events.lazy.map { $0.json })
        }
        try append(events.map { ($0.json, $0.event) }, truncatedBy: truncation)
    }

    public func accept(json events: EncodedEvents) throws {
        try append(contentsOf: events)
    }

    public var reshapesEvents: Bool { truncation != nil }

    /// Writes the events, those over the limit truncated; one still too large is left out, and
    /// reported once the others are written.
    private func append(_ events: [(json: [UInt8], event: AuditEvent?)], truncatedBy truncation: AuditTruncation) throws
    {
        let (lines, dropped) = truncation.apply(to: events)
        try append(contentsOf: lines)
        if dropped > 0 {
            throw Failure(
                description: "\(dropped) event(s) left out: over --audit-log-truncate-max-event-size "
                    + "(\(truncation.maxEventSize)) even without their objects")
        }
    }
}
