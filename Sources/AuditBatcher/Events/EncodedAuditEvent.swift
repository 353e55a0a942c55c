/// An event together with its `jsonBytes()`, encoded once for every backend. Most backends only
/// write the bytes; one that reshapes events (truncation for a batching sink) needs the event.
public struct EncodedAuditEvent: Sendable {
    /// The event sits behind one reference: these are passed through arrays and closures on
    /// every exchange, and copying the event itself retains each of its dozen strings and arrays.
    private let box: EventBox
    public let json: [UInt8]

    public var event: AuditEvent { box.event }

    public init(_ event: AuditEvent) {
        self.box = EventBox(event)
        self.json = event.jsonBytes()
    }

    /// Encodes `event` with the stage-independent bytes its exchange's other events share.
    public init(_ event: AuditEvent, sharing shared: StageIndependentJSON) {
        self.box = EventBox(event)
        self.json = event.jsonBytes(sharing: shared)
    }

    private final class EventBox: Sendable {
        let event: AuditEvent
        init(_ event: AuditEvent) { self.event = event }
    }
}
