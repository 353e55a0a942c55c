/// An `audit.k8s.io/v1` `EventList`: the body of every webhook and Banyan POST.
public struct AuditEventList: Sendable, Codable {
    public static let kind = "EventList"

    public var items: [AuditEvent]

    public init(items: [AuditEvent]) {
        self.items = items
    }

    enum CodingKeys: String, CodingKey {
        case kind, apiVersion, metadata, items
    }

    private struct EmptyMetadata: Codable {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        items = try container.decodeIfPresent([AuditEvent].self, forKey: .items) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.kind, forKey: .kind)
        try container.encode(AuditEvent.apiVersion, forKey: .apiVersion)
        try container.encode(EmptyMetadata(), forKey: .metadata)
        try container.encode(items.map(Item.init), forKey: .items)
    }

    /// An event as an item of the list: without its own `kind` and `apiVersion`.
    private struct Item: Encodable {
        let event: AuditEvent
        func encode(to encoder: any Encoder) throws { try event.encode(to: encoder, typed: false) }
    }

    /// Serializes with each event's `jsonBytes()`.
    public func jsonBytes() -> [UInt8] {
        Self.jsonBody(encodedEvents: items.map { $0.jsonBytes() })
    }

    /// Assembles a list from events already serialized (as the spool holds them), without
    /// decoding them again, into a body allocated once at its final size (grown by appends, a
    /// 400-event body was copied four times over, into fresh pages each time).
    ///
    /// The items go without their `kind` and `apiVersion`, as in the API server's webhook
    /// batches: its encoder sets the type on the list alone. A standalone event (a log line, the
    /// spool's record) carries it, and is written with it first, so it is cut off here.
    public static func jsonBody<Event: Collection<UInt8>>(encodedEvents: some Collection<Event>) -> [UInt8] {
        let opening = #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#.utf8
        var body: [UInt8] = []
        body.reserveCapacity(opening.count + encodedEvents.reduce(0) { $0 + $1.count + 1 } + 2)
        body.append(contentsOf: opening)
        var first = true
        for event in encodedEvents {
            if !first { body.append(UInt8(ascii: ",")) }
            first = false
            if event.starts(with: itemTypeHeader) {
                body.append(UInt8(ascii: "{"))
                body.append(contentsOf: event.dropFirst(itemTypeHeader.count))
            } else {
                body.append(contentsOf: event)
            }
        }
        body.append(contentsOf: "]}".utf8)
        return body
    }

    /// How every event this module writes begins, up to its first own field.
    static let itemTypeHeader = Array(#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","#.utf8)
}
