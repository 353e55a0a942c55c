/// The `metav1.Status` an audit event carries as `responseStatus`. Kubernetes always writes the
/// (empty) `metadata` object and leaves out empty strings and a zero code.
public struct AuditResponseStatus: Sendable, Hashable, Codable {
    public var code: Int
    /// `Success` or `Failure`, set for `Status` answers.
    public var status: String?
    public var reason: String?
    public var message: String?

    public init(code: Int, status: String? = nil, reason: String? = nil, message: String? = nil) {
        self.code = code
        self.status = status
        self.reason = reason
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case metadata, status, message, reason, code
    }

    private struct EmptyMetadata: Codable {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decodeIfPresent(Int.self, forKey: .code) ?? 0
        status = try container.decodeIfPresent(String.self, forKey: .status)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        message = try container.decodeIfPresent(String.self, forKey: .message)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(EmptyMetadata(), forKey: .metadata)
        if let status, !status.isEmpty { try container.encode(status, forKey: .status) }
        if let message, !message.isEmpty { try container.encode(message, forKey: .message) }
        if let reason, !reason.isEmpty { try container.encode(reason, forKey: .reason) }
        if code != 0 { try container.encode(code, forKey: .code) }
    }

    func write(to writer: inout AuditJSONWriter) {
        writer.beginObject()
        writer.key("metadata")
        writer.raw("{}".utf8)
        if let status, !status.isEmpty { writer.field("status", status) }
        if let message, !message.isEmpty { writer.field("message", message) }
        if let reason, !reason.isEmpty { writer.field("reason", reason) }
        if code != 0 {
            writer.key("code")
            writer.integer(code)
        }
        writer.endObject()
    }
}
