/// The events one exchange records at once (`RequestReceived` with `ResponseComplete`, say),
/// serialized back to back into one buffer, each its own JSON value: what the audit step hands
/// its backends when none of them reads the events' structure.
///
/// One buffer instead of an array per event (and one for the part they share, and one for the
/// list of them): on the request path those were six allocations and three extra copies per
/// exchange. Events after the first copy the stage-independent part (request line, user,
/// source, object reference) from the first rather than writing it again: append only events
/// of one exchange.
public struct ExchangeEventsJSON: ~Copyable {
    /// The most events one exchange records at once.
    public static let capacity = 4

    private var writer: AuditJSONWriter
    /// Where each event ends in the buffer (the next one starts there).
    private var ends: (Int, Int, Int, Int) = (0, 0, 0, 0)
    public private(set) var count = 0
    /// Where the first event's stage-independent part went.
    private var shared: Range<Int>?

    /// `objectBytes`: the request and response bodies the events carry, if any, to size the
    /// buffer once.
    public init(objectBytes: Int = 0) {
        writer = AuditJSONWriter(capacity: 1280 + objectBytes)
    }

    public mutating func append(_ event: AuditEvent) {
        appendEvent { writer, shared in event.write(to: &writer, sharing: shared) }
    }

    /// Appends one event of an exchange from its fields: the same bytes as ``append(_:)`` of the
    /// ``AuditEvent`` made of them, without building it (which cost ~1.8 µs per exchange on the
    /// request path). The parameters up to `userAgent` are what every stage says alike: pass the
    /// same for every event of the exchange (only the first reads them; the others copy its
    /// bytes). They are parameters, not a struct, so that nothing is copied to pass them.
    public mutating func append(
        _ stage: AuditStage, level: AuditLevel, auditID: String, requestURI: String, requestInfo: RequestInfo,
        username: String?, groups: [String], sourceIPs: [String], userAgent: String?,
        responseStatus: AuditResponseStatus?, requestObject: RawJSON?, responseObject: RawJSON?,
        requestReceivedTimestamp: AuditTimestamp, stageTimestamp: AuditTimestamp, annotations: [String: String]
    ) {
        appendEvent { writer, shared in
            AuditEvent.writeEvent(
                level: level, auditID: auditID, stage: stage, sharing: shared, to: &writer,
                stageIndependent: { writer in
                    AuditEvent.writeStageIndependent(
                        requestURI: requestURI, verb: requestInfo.verb, username: username ?? "", uid: nil,
                        groups: groups, extra: [:], impersonatedUser: nil, sourceIPs: sourceIPs,
                        userAgent: userAgent ?? "", to: &writer)
                    if requestInfo.isResourceRequest {
                        AuditEvent.writeObjectReference(
                            resource: requestInfo.resource, namespace: requestInfo.namespace, name: requestInfo.name,
                            apiGroup: requestInfo.apiGroup, apiVersion: requestInfo.apiVersion,
                            subresource: requestInfo.subresource, to: &writer)
                    }
                },
                stageDependent: {
                    AuditEvent.writeStageDependent(
                        responseStatus: responseStatus, requestObject: requestObject, responseObject: responseObject,
                        requestReceivedTimestamp: requestReceivedTimestamp, stageTimestamp: stageTimestamp,
                        annotations: annotations, to: &$0)
                })
        }
    }

    /// Writes one more event with `write`, which copies the part the first event wrote for every
    /// stage (``AuditEvent/SharedPart/written(_:)``, nil for the first) and returns where it went.
    private mutating func appendEvent(
        _ write: (inout AuditJSONWriter, AuditEvent.SharedPart?) -> Range<Int>
    ) {
        precondition(count < Self.capacity, "more events than one exchange records")
        writer.startValue()
        let written = write(&writer, shared.map { .written($0) })
        if shared == nil { shared = written }
        // Where the event ends: the next one starts there.
        switch count {
        case 0: ends.0 = writer.written
        case 1: ends.1 = writer.written
        case 2: ends.2 = writer.written
        default: ends.3 = writer.written
        }
        count += 1
    }

    /// Lends the events' bytes, valid only inside `body`.
    public func withEvents<Result>(_ body: (EncodedEvents) throws -> Result) rethrows -> Result {
        try writer.withWrittenBytes { bytes in
            try body(EncodedEvents(bytes: bytes, ends: ends, count: count))
        }
    }
}

/// The events of ``ExchangeEventsJSON``, one JSON value each, as views of its buffer: valid
/// only while it lends them (``ExchangeEventsJSON/withEvents(_:)``).
///
/// `@unchecked Sendable`: a read-only view of bytes nobody writes while they are lent, so any
/// thread may read them then (a shipper copies them into its spool under its own lock); a
/// backend must not keep it past `accept`, as its documentation says.
public struct EncodedEvents: RandomAccessCollection, @unchecked Sendable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let ends: (Int, Int, Int, Int)
    public let endIndex: Int

    init(bytes: UnsafeBufferPointer<UInt8>, ends: (Int, Int, Int, Int), count: Int) {
        self.bytes = bytes
        self.ends = ends
        endIndex = count
    }

    public var startIndex: Int { 0 }

    public subscript(position: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(position >= 0 && position < endIndex, "event index out of range")
        let start = position == 0 ? 0 : end(of: position - 1)
        return UnsafeBufferPointer(rebasing: bytes[start..<end(of: position)])
    }

    private func end(of position: Int) -> Int {
        switch position {
        case 0: ends.0
        case 1: ends.1
        case 2: ends.2
        default: ends.3
        }
    }
}
