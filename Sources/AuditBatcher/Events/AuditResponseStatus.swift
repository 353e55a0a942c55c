import Foundation

/// The `metav1.Status` an audit event carries as `responseStatus`. Kubernetes always writes the
/// (empty) `metadata` object and leaves out empty strings and a zero code.
public struct AuditResponseStatus: Sendable, Hashable, Codable {
    public var code: Int
    /// `Success` or `Failure`, set for `Status` answers.
    public var status: String?
    public var reason: String?
    public var message: String?
    /// A `Status` answer's `details`, as the API server copies them into its event.
    public var details: Details?

    public init(
        code: Int, status: String? = nil, reason: String? = nil, message: String? = nil, details: Details? = nil
    ) {
        self.code = code
        self.status = status
        self.reason = reason
        self.message = message
        self.details = details
    }

    /// `metav1.StatusDetails`, written in its Go field order with its `omitempty` rules.
    public struct Details: Sendable, Hashable, Codable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var uid: String?
        public var causes: [Cause]
        public var retryAfterSeconds: Int

        public struct Cause: Sendable, Hashable, Codable {
            public var reason: String?
            public var message: String?
            public var field: String?
        }

        enum CodingKeys: String, CodingKey {
            case name, group, kind, uid, causes, retryAfterSeconds
        }

        public init(
            name: String? = nil, group: String? = nil, kind: String? = nil, uid: String? = nil, causes: [Cause] = [],
            retryAfterSeconds: Int = 0
        ) {
            self.name = name
            self.group = group
            self.kind = kind
            self.uid = uid
            self.causes = causes
            self.retryAfterSeconds = retryAfterSeconds
        }

        /// As Go writes them, empty fields absent.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            group = try container.decodeIfPresent(String.self, forKey: .group)
            kind = try container.decodeIfPresent(String.self, forKey: .kind)
            uid = try container.decodeIfPresent(String.self, forKey: .uid)
            causes = try container.decodeIfPresent([Cause].self, forKey: .causes) ?? []
            retryAfterSeconds = try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? 0
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            for (key, value) in [(CodingKeys.name, name), (.group, group), (.kind, kind), (.uid, uid)] {
                if let value, !value.isEmpty { try container.encode(value, forKey: key) }
            }
            if !causes.isEmpty { try container.encode(causes, forKey: .causes) }
            if retryAfterSeconds != 0 { try container.encode(retryAfterSeconds, forKey: .retryAfterSeconds) }
        }
    }

    /// The `Status` the API server answered with, read from its JSON body (`kind: Status`), as
    /// the API server copies one into its event before writing it (`LogResponseObject`): its
    /// status, message, reason, details and code. Nil for any other body.
    public init?(statusBody bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            object["kind"] as? String == "Status"
        else { return nil }
        func string(_ value: Any?) -> String? { (value as? String).flatMap { $0.isEmpty ? nil : $0 } }
        func integer(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? 0 }
        code = integer(object["code"])
        status = string(object["status"])
        reason = string(object["reason"])
        message = string(object["message"])
        if let details = object["details"] as? [String: Any] {
            self.details = Details(
                name: string(details["name"]), group: string(details["group"]), kind: string(details["kind"]),
                uid: string(details["uid"]),
                causes: (details["causes"] as? [[String: Any]] ?? []).map {
                    Details.Cause(
                        reason: string($0["reason"]), message: string($0["message"]), field: string($0["field"]))
                },
                retryAfterSeconds: integer(details["retryAfterSeconds"]))
        }
    }

    enum CodingKeys: String, CodingKey {
        case metadata, status, message, reason, details, code
    }

    private struct EmptyMetadata: Codable {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decodeIfPresent(Int.self, forKey: .code) ?? 0
        status = try container.decodeIfPresent(String.self, forKey: .status)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        details = try container.decodeIfPresent(Details.self, forKey: .details)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(EmptyMetadata(), forKey: .metadata)
        if let status, !status.isEmpty { try container.encode(status, forKey: .status) }
        if let message, !message.isEmpty { try container.encode(message, forKey: .message) }
        if let reason, !reason.isEmpty { try container.encode(reason, forKey: .reason) }
        if let details { try container.encode(details, forKey: .details) }
        if code != 0 { try container.encode(code, forKey: .code) }
    }

    func write(to writer: inout AuditJSONWriter) {
        writer.beginObject()
        writer.key("metadata")
        writer.raw("{}".utf8)
        if let status, !status.isEmpty { writer.field("status", status) }
        if let message, !message.isEmpty { writer.field("message", message) }
        if let reason, !reason.isEmpty { writer.field("reason", reason) }
        if let details {
            writer.key("details")
            details.write(to: &writer)
        }
        if code != 0 {
            writer.key("code")
            writer.integer(code)
        }
        writer.endObject()
    }
}

extension AuditResponseStatus.Details {
    /// As Go writes `metav1.StatusDetails`: every field `omitempty`.
    func write(to writer: inout AuditJSONWriter) {
        writer.beginObject()
        if let name, !name.isEmpty { writer.field("name", name) }
        if let group, !group.isEmpty { writer.field("group", group) }
        if let kind, !kind.isEmpty { writer.field("kind", kind) }
        if let uid, !uid.isEmpty { writer.field("uid", uid) }
        if !causes.isEmpty {
            writer.key("causes")
            writer.beginArray()
            for cause in causes {
                writer.beginObject()
                if let reason = cause.reason, !reason.isEmpty { writer.field("reason", reason) }
                if let message = cause.message, !message.isEmpty { writer.field("message", message) }
                if let field = cause.field, !field.isEmpty { writer.field("field", field) }
                writer.endObject()
            }
            writer.endArray()
        }
        if retryAfterSeconds != 0 {
            writer.key("retryAfterSeconds")
            writer.integer(retryAfterSeconds)
        }
        writer.endObject()
    }
}
