/// `authentication.k8s.io/v1` `UserInfo` as it appears in an audit event's `user` and
/// `impersonatedUser`. Every field is `omitempty` in Kubernetes, so empty ones are left out.
public struct AuditUserInfo: Sendable, Hashable, Codable {
    public var username: String
    public var uid: String?
    public var groups: [String]
    public var extra: [String: [String]]

    public init(username: String, uid: String? = nil, groups: [String] = [], extra: [String: [String]] = [:]) {
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey {
        case username, uid, groups, extra
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        username = try container.decodeIfPresent(String.self, forKey: .username) ?? ""
        uid = try container.decodeIfPresent(String.self, forKey: .uid)
        groups = try container.decodeIfPresent([String].self, forKey: .groups) ?? []
        extra = try container.decodeIfPresent([String: [String]].self, forKey: .extra) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if !username.isEmpty { try container.encode(username, forKey: .username) }
        if let uid, !uid.isEmpty { try container.encode(uid, forKey: .uid) }
        if !groups.isEmpty { try container.encode(groups, forKey: .groups) }
        if !extra.isEmpty { try container.encode(extra, forKey: .extra) }
    }

    func write(to writer: inout AuditJSONWriter) {
        Self.write(username: username, uid: uid, groups: groups, extra: extra, to: &writer)
    }

    /// The same from fields passed in (an exchange being recorded holds no `AuditUserInfo`).
    static func write(
        username: String, uid: String?, groups: [String], extra: [String: [String]], to writer: inout AuditJSONWriter
    ) {
        writer.beginObject()
        if !username.isEmpty { writer.field("username", username) }
        if let uid, !uid.isEmpty { writer.field("uid", uid) }
        if !groups.isEmpty {
            writer.key("groups")
            writer.stringArray(groups)
        }
        if !extra.isEmpty {
            writer.key("extra")
            writer.beginObject()
            for name in extra.keys.sorted() {
                writer.key(dynamic: name)
                writer.stringArray(extra[name]!)
            }
            writer.endObject()
        }
        writer.endObject()
    }
}
