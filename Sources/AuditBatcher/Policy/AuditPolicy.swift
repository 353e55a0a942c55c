/// An `audit.k8s.io/v1` `Policy`: ordered rules deciding how much of each request is audited.
public struct AuditPolicy: Equatable, Hashable, Sendable {
    /// Matched in order; the first rule that matches decides.
    public var rules: [AuditPolicyRule]
    /// Stages left out for every request, whatever rule matches.
    public var omitStages: [AuditStage]
    /// Default for rules that do not set their own `omitManagedFields`.
    public var omitManagedFields: Bool

    public init(rules: [AuditPolicyRule], omitStages: [AuditStage] = [], omitManagedFields: Bool = false) {
        self.rules = rules
        self.omitStages = omitStages
        self.omitManagedFields = omitManagedFields
    }

    /// Parses a policy document, YAML or JSON; `file` only names the source in errors.
    public init(parsing text: String, file: String) throws(AuditPolicyError) {
        self = try AuditPolicyDocumentReader(file: file).read(text)
    }

    /// Reads and parses the policy file at `path` (`--audit-policy-file`).
    public static func load(path: String) throws(AuditPolicyError) -> AuditPolicy {
        let bytes: [UInt8]
        do {
            bytes = try PolicyFile.contents(atPath: path)
        } catch {
            throw .unreadable(file: path, reason: error.reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .unreadable(file: path, reason: "not UTF-8 text")
        }
        return try AuditPolicy(parsing: text, file: path)
    }

    /// The level, omitted stages and managed-fields choice for `request`, made by `username` (nil when nobody was
    /// authenticated) who belongs to `groups`. No matching rule means level `None`.
    public func evaluate(_ request: RequestInfo, username: String?, groups: [String] = []) -> RequestAuditConfig {
        guard let rule = rules.first(where: { $0.matches(request, username: username, groups: groups) }) else {
            return RequestAuditConfig(
                level: .none,
                omitStages: Set(omitStages),
                omitManagedFields: omitManagedFields
            )
        }
        return RequestAuditConfig(
            level: rule.level,
            omitStages: Set(omitStages).union(rule.omitStages),
            omitManagedFields: rule.omitManagedFields ?? omitManagedFields
        )
    }
}
