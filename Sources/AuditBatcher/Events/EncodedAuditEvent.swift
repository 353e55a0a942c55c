/// An event together with its `jsonBytes()`, encoded once for every backend. Most backends only
/// write the bytes; one that reshapes events (truncation for a batching sink) needs the event.
public struct EncodedAuditEvent: Sendable {
    /// The event sits behind one reference: these are passed through arrays and closures on
    /// every exchange, and copying the event itself retains each of its dozen strings and arrays.
    private let box: EventBox?
    public let json: [UInt8]

    /// The event's structure; nil when it was encoded for backends that only write bytes.
    public var event: AuditEvent? { box?.event }

    public init(_ event: AuditEvent) {
        self.init(event, keepingEvent: true)
    }

    /// Encodes `event` with the stage-independent bytes its exchange's other events share,
    /// keeping the structure only when `keepingEvent` (no backend reshapes events: it would be
    /// one more allocation and copy per event, read by nobody).
    public init(_ event: AuditEvent, sharing shared: StageIndependentJSON, keepingEvent: Bool = true) {
        self.box = keepingEvent ? EventBox(event) : nil
        self.json = event.jsonBytes(sharing: shared)
    }

    public init(_ event: AuditEvent, keepingEvent: Bool) {
        self.box = keepingEvent ? EventBox(event) : nil
        self.json = event.jsonBytes()
    }

    private final class EventBox: Sendable {
        let event: AuditEvent
        init(_ event: AuditEvent) { self.event = event }
    }
}
