/// An event together with its `jsonBytes()`, encoded once for every backend. Most backends only
/// write the bytes; one that reshapes events (truncation for a batching sink) needs the event.
public struct EncodedAuditEvent: Sendable {
    public var event: AuditEvent
    public var json: [UInt8]

    public init(_ event: AuditEvent) {
        self.event = event
        self.json = event.jsonBytes()
    }

    /// Encodes `event` with the stage-independent bytes its exchange's other events share.
    public init(_ event: AuditEvent, sharing shared: StageIndependentJSON) {
        self.event = event
        self.json = event.jsonBytes(sharing: shared)
    }
}
