extension AuditEvent {
    /// The event as compact JSON on one line, keys in the API server's order, embedded objects
    /// spliced in verbatim. This is what goes to the spool, the log file and inside `EventList`s.
    public func jsonBytes() -> [UInt8] {
        var writer = AuditJSONWriter(
            capacity: 640 + (requestObject?.bytes.count ?? 0) + (responseObject?.bytes.count ?? 0))
        write(to: &writer)
        return writer.bytes
    }

    /// The bytes from `requestURI` to `objectRef` (the request line, the user, where it came
    /// from): the same in every stage of an exchange, so its events can share them.
    public func stageIndependentJSON() -> StageIndependentJSON {
        // Written as an object's first members: no brace, no comma before.
        var writer = AuditJSONWriter(capacity: 384)
        writeStageIndependent(to: &writer)
        return StageIndependentJSON(bytes: writer.bytes)
    }

    /// The same bytes as ``jsonBytes()``, with the stage-independent part spliced in from
    /// `shared` (which must come from an event of the same exchange) instead of written again.
    public func jsonBytes(sharing shared: StageIndependentJSON) -> [UInt8] {
        var writer = AuditJSONWriter(
            capacity: 256 + shared.bytes.count + (requestObject?.bytes.count ?? 0)
                + (responseObject?.bytes.count ?? 0))
        write(to: &writer, sharing: .bytes(shared))
        return writer.bytes
    }

    /// Where an event's stage-independent part comes from when it is not written afresh: from
    /// another event of the same exchange.
    enum SharedPart {
        /// That part written on its own (``stageIndependentJSON()``), without a leading comma.
        case bytes(StageIndependentJSON)
        /// Where the same writer put the previous event's, leading comma included: copied.
        case written(Range<Int>)
    }

    /// Writes the event after what `writer` holds, its stage-independent part taken from
    /// `shared` when given; returns where that part went.
    @discardableResult
    func write(to writer: inout AuditJSONWriter, sharing shared: SharedPart? = nil) -> Range<Int> {
        // The constant opening, level and stage are written as they are: they never need escaping.
        writer.beginObject()
        writer.verbatim(#""kind":"Event","apiVersion":"audit.k8s.io/v1","level":""#)
        writer.verbatim(level.jsonValue)
        writer.verbatim(#"","auditID":"#)
        writer.string(auditID)
        writer.verbatim(#","stage":""#)
        writer.verbatim(stage.jsonValue)
        writer.verbatim(#"""#, endsValue: true)
        let start = writer.written
        switch shared {
        case .bytes(let json)?: writer.raw(json.bytes)
        case .written(let range)?: writer.repeatWritten(range)
        case nil: writeStageIndependent(to: &writer)
        }
        let written = start..<writer.written
        writeStageDependent(to: &writer)
        return written
    }

    private func writeStageIndependent(to writer: inout AuditJSONWriter) {
        writer.field("requestURI", requestURI)
        writer.field("verb", verb)
        writer.key("user")
        user.write(to: &writer)
        if let impersonatedUser {
            writer.key("impersonatedUser")
            impersonatedUser.write(to: &writer)
        }
        if !sourceIPs.isEmpty {
            writer.key("sourceIPs")
            writer.stringArray(sourceIPs)
        }
        if !userAgent.isEmpty { writer.field("userAgent", userAgent) }
        if let objectRef {
            writer.key("objectRef")
            Self.write(objectRef, to: &writer)
        }
    }

    private func writeStageDependent(to writer: inout AuditJSONWriter) {
        if let responseStatus {
            writer.key("responseStatus")
            responseStatus.write(to: &writer)
        }
        if let requestObject {
            writer.key("requestObject")
            writer.raw(requestObject.bytes)
        }
        if let responseObject {
            writer.key("responseObject")
            writer.raw(responseObject.bytes)
        }
        writer.key("requestReceivedTimestamp")
        writer.timestamp(requestReceivedTimestamp)
        writer.key("stageTimestamp")
        writer.timestamp(stageTimestamp)
        if !annotations.isEmpty {
            writer.key("annotations")
            writer.stringMap(annotations)
        }
        writer.endObject()
    }

    /// `ObjectReference`'s keys in the API server's order; absent and empty fields are left out.
    private static func write(_ reference: AuditObjectReference, to writer: inout AuditJSONWriter) {
        writer.beginObject()
        writer.optionalField("resource", reference.resource)
        writer.optionalField("namespace", reference.namespace)
        writer.optionalField("name", reference.name)
        writer.optionalField("apiGroup", reference.apiGroup)
        writer.optionalField("apiVersion", reference.apiVersion)
        writer.optionalField("subresource", reference.subresource)
        writer.endObject()
    }
}

extension AuditLevel {
    /// The JSON spelling, without quotes.
    fileprivate var jsonValue: StaticString {
        switch self {
        case .none: "None"
        case .metadata: "Metadata"
        case .request: "Request"
        case .requestResponse: "RequestResponse"
        }
    }
}

extension AuditStage {
    /// The JSON spelling, without quotes.
    fileprivate var jsonValue: StaticString {
        switch self {
        case .requestReceived: "RequestReceived"
        case .responseStarted: "ResponseStarted"
        case .responseComplete: "ResponseComplete"
        case .panic: "Panic"
        }
    }
}

extension AuditJSONWriter {
    /// Leaves out nil and empty values, as Go's `omitempty` does.
    mutating func optionalField(_ name: StaticString, _ value: String?) {
        if let value, !value.isEmpty { field(name, value) }
    }
}

/// The part of an event's JSON that every stage of its exchange shares (see
/// ``AuditEvent/stageIndependentJSON()``): from `requestURI` to `objectRef`, without the comma before.
public struct StageIndependentJSON: Sendable {
    let bytes: [UInt8]
}
