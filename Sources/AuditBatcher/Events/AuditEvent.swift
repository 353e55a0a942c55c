/// An `audit.k8s.io/v1` `Event`, written the way the Kubernetes API server writes it: same keys,
/// same key order, `omitempty` fields left out, timestamps with microseconds.
///
/// `jsonBytes()` is the serializer to use; it splices `requestObject`/`responseObject` in
/// verbatim. The `Codable` conformance exists for reading events back (tests, receivers) and
/// produces the same JSON except that embedded objects go through a decode/encode round trip.
public struct AuditEvent: Sendable, Codable {
    public static let kind = "Event"
    public static let apiVersion = "audit.k8s.io/v1"

    public var level: AuditLevel
    /// Unique per request; also sent back in the `Audit-Id` response header.
    public var auditID: String
    public var stage: AuditStage
    public var requestURI: String
    public var verb: String
    public var user: AuditUserInfo
    public var impersonatedUser: AuditUserInfo?
    public var sourceIPs: [String]
    public var userAgent: String
    public var objectRef: AuditObjectReference?
    public var responseStatus: AuditResponseStatus?
    public var requestObject: RawJSON?
    public var responseObject: RawJSON?
    public var requestReceivedTimestamp: AuditTimestamp
    public var stageTimestamp: AuditTimestamp
    /// Written only when not empty, as Kubernetes' `omitempty` map.
    public var annotations: [String: String]

    public init(
        level: AuditLevel,
        auditID: String,
        stage: AuditStage,
        requestURI: String,
        verb: String,
        user: AuditUserInfo,
        impersonatedUser: AuditUserInfo? = nil,
        sourceIPs: [String] = [],
        userAgent: String = "",
        objectRef: AuditObjectReference? = nil,
        responseStatus: AuditResponseStatus? = nil,
        requestObject: RawJSON? = nil,
        responseObject: RawJSON? = nil,
        requestReceivedTimestamp: AuditTimestamp,
        stageTimestamp: AuditTimestamp,
        annotations: [String: String] = [:]
    ) {
        self.level = level
        self.auditID = auditID
        self.stage = stage
        self.requestURI = requestURI
        self.verb = verb
        self.user = user
        self.impersonatedUser = impersonatedUser
        self.sourceIPs = sourceIPs
        self.userAgent = userAgent
        self.objectRef = objectRef
        self.responseStatus = responseStatus
        self.requestObject = requestObject
        self.responseObject = responseObject
        self.requestReceivedTimestamp = requestReceivedTimestamp
        self.stageTimestamp = stageTimestamp
        self.annotations = annotations
    }

    enum CodingKeys: String, CodingKey {
        case kind, apiVersion, level, auditID, stage, requestURI, verb, user, impersonatedUser, sourceIPs
        case userAgent, objectRef, responseStatus, requestObject, responseObject
        case requestReceivedTimestamp, stageTimestamp, annotations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        level = try container.decode(AuditLevel.self, forKey: .level)
        auditID = try container.decode(String.self, forKey: .auditID)
        stage = try container.decode(AuditStage.self, forKey: .stage)
        requestURI = try container.decodeIfPresent(String.self, forKey: .requestURI) ?? ""
        verb = try container.decodeIfPresent(String.self, forKey: .verb) ?? ""
        user = try container.decodeIfPresent(AuditUserInfo.self, forKey: .user) ?? AuditUserInfo(username: "")
        impersonatedUser = try container.decodeIfPresent(AuditUserInfo.self, forKey: .impersonatedUser)
        sourceIPs = try container.decodeIfPresent([String].self, forKey: .sourceIPs) ?? []
        userAgent = try container.decodeIfPresent(String.self, forKey: .userAgent) ?? ""
        objectRef = try container.decodeIfPresent(AuditObjectReference.self, forKey: .objectRef)
        responseStatus = try container.decodeIfPresent(AuditResponseStatus.self, forKey: .responseStatus)
        requestObject = try container.decodeIfPresent(RawJSON.self, forKey: .requestObject)
        responseObject = try container.decodeIfPresent(RawJSON.self, forKey: .responseObject)
        requestReceivedTimestamp = try container.decode(AuditTimestamp.self, forKey: .requestReceivedTimestamp)
        stageTimestamp = try container.decode(AuditTimestamp.self, forKey: .stageTimestamp)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, typed: true)
    }

    /// `typed`: with `kind` and `apiVersion`, as a standalone event; without, as an item of a list.
    func encode(to encoder: any Encoder, typed: Bool) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if typed {
            try container.encode(Self.kind, forKey: .kind)
            try container.encode(Self.apiVersion, forKey: .apiVersion)
        }
        try container.encode(level, forKey: .level)
        try container.encode(auditID, forKey: .auditID)
        try container.encode(stage, forKey: .stage)
        try container.encode(requestURI, forKey: .requestURI)
        try container.encode(verb, forKey: .verb)
        try container.encode(user, forKey: .user)
        try container.encodeIfPresent(impersonatedUser, forKey: .impersonatedUser)
        if !sourceIPs.isEmpty { try container.encode(sourceIPs, forKey: .sourceIPs) }
        if !userAgent.isEmpty { try container.encode(userAgent, forKey: .userAgent) }
        try container.encodeIfPresent(objectRef, forKey: .objectRef)
        try container.encodeIfPresent(responseStatus, forKey: .responseStatus)
        try container.encodeIfPresent(requestObject, forKey: .requestObject)
        try container.encodeIfPresent(responseObject, forKey: .responseObject)
        try container.encode(requestReceivedTimestamp, forKey: .requestReceivedTimestamp)
        try container.encode(stageTimestamp, forKey: .stageTimestamp)
        if !annotations.isEmpty { try container.encode(annotations, forKey: .annotations) }
    }
}
