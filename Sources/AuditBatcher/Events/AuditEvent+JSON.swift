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
        Self.writeEvent(
            level: level, auditID: auditID, stage: stage, sharing: shared, to: &writer,
            stageIndependent: { writeStageIndependent(to: &$0) },
            stageDependent: {
                Self.writeStageDependent(
                    responseStatus: responseStatus, requestObject: requestObject, responseObject: responseObject,
                    requestReceivedTimestamp: requestReceivedTimestamp, stageTimestamp: stageTimestamp,
                    annotations: annotations, to: &$0)
            })
    }

    /// An event's JSON: its opening, its stage-independent part (copied from `shared` when
    /// given, else written by `stageIndependent`), then `stageDependent`'s members and the
    /// closing brace. Returns where the stage-independent part went.
    static func writeEvent(
        level: AuditLevel, auditID: String, stage: AuditStage, sharing shared: SharedPart?,
        to writer: inout AuditJSONWriter, stageIndependent: (inout AuditJSONWriter) -> Void,
        stageDependent: (inout AuditJSONWriter) -> Void
    ) -> Range<Int> {
        writeOpening(level: level, auditID: auditID, stage: stage, to: &writer)
        let start = writer.written
        switch shared {
        case .bytes(let json)?: writer.raw(json.bytes)
        case .written(let range)?: writer.repeatWritten(range)
        case nil: stageIndependent(&writer)
        }
        let written = start..<writer.written
        stageDependent(&writer)
        return written
    }

    private func writeStageIndependent(to writer: inout AuditJSONWriter) {
        Self.writeStageIndependent(
            requestURI: requestURI, verb: verb, username: user.username, uid: user.uid, groups: user.groups,
            extra: user.extra, impersonatedUser: impersonatedUser, sourceIPs: sourceIPs, userAgent: userAgent,
            to: &writer)
        if let objectRef {
            Self.writeObjectReference(
                resource: objectRef.resource, namespace: objectRef.namespace, name: objectRef.name,
                apiGroup: objectRef.apiGroup, apiVersion: objectRef.apiVersion, subresource: objectRef.subresource,
                to: &writer)
        }
    }

    // The event's JSON in its parts, from fields passed in rather than from an `AuditEvent`: an
    // event writes itself with them, and so does an exchange being recorded, without building
    // one (``ExchangeEventsJSON``). One writer either way.

    /// The constant opening, level and stage (written as they are: they never need escaping)
    /// and the audit ID.
    private static func writeOpening(
        level: AuditLevel, auditID: String, stage: AuditStage, to writer: inout AuditJSONWriter
    ) {
        writer.beginObject()
        writer.verbatim(#""kind":"Event","apiVersion":"audit.k8s.io/v1","level":""#)
        writer.verbatim(level.jsonValue)
        writer.verbatim(#"","auditID":"#)
        writer.string(auditID)
        writer.verbatim(#","stage":""#)
        writer.verbatim(stage.jsonValue)
        writer.verbatim(#"""#, endsValue: true)
    }

    /// The stage-independent members up to `objectRef` (which ``writeObjectReference`` adds).
    static func writeStageIndependent(
        requestURI: String, verb: String, username: String, uid: String?, groups: [String],
        extra: [String: [String]], impersonatedUser: AuditUserInfo?, sourceIPs: some Collection<String>,
        userAgent: String, to writer: inout AuditJSONWriter
    ) {
        writer.field("requestURI", requestURI)
        writer.field("verb", verb)
        writer.key("user")
        AuditUserInfo.write(username: username, uid: uid, groups: groups, extra: extra, to: &writer)
        if let impersonatedUser {
            writer.key("impersonatedUser")
            impersonatedUser.write(to: &writer)
        }
        if !sourceIPs.isEmpty {
            writer.key("sourceIPs")
            writer.stringArray(sourceIPs)
        }
        if !userAgent.isEmpty { writer.field("userAgent", userAgent) }
    }

    /// `objectRef`: `ObjectReference`'s keys in the API server's order; absent and empty fields
    /// are left out.
    static func writeObjectReference(
        resource: String?, namespace: String?, name: String?, apiGroup: String?, apiVersion: String?,
        subresource: String?, to writer: inout AuditJSONWriter
    ) {
        writer.key("objectRef")
        writer.beginObject()
        writer.optionalField("resource", resource)
        writer.optionalField("namespace", namespace)
        writer.optionalField("name", name)
        writer.optionalField("apiGroup", apiGroup)
        writer.optionalField("apiVersion", apiVersion)
        writer.optionalField("subresource", subresource)
        writer.endObject()
    }

    /// The members that differ between stages, and the closing brace.
    static func writeStageDependent(
        responseStatus: AuditResponseStatus?, requestObject: RawJSON?, responseObject: RawJSON?,
        requestReceivedTimestamp: AuditTimestamp, stageTimestamp: AuditTimestamp, annotations: [String: String],
        to writer: inout AuditJSONWriter
    ) {
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
