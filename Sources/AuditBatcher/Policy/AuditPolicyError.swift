/// Why an audit policy could not be loaded. The description is one line naming the file and, when known, the line.
public enum AuditPolicyError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// The file was read but is not a valid policy.
    case invalid(file: String, line: Int?, problem: AuditPolicyProblem)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "audit policy \(file): cannot read: \(reason)"
        case .invalid(let file, let line?, let problem):
            return "audit policy \(file) line \(line): \(problem)"
        case .invalid(let file, nil, let problem):
            return "audit policy \(file): \(problem)"
        }
    }

    /// The problem, for an invalid policy.
    public var problem: AuditPolicyProblem? {
        guard case .invalid(_, _, let problem) = self else { return nil }
        return problem
    }

    /// The 1-based line the problem is on, when the YAML parser could tell.
    public var line: Int? {
        guard case .invalid(_, let line, _) = self else { return nil }
        return line
    }
}

/// What is wrong inside a policy document.
public enum AuditPolicyProblem: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Not parseable as YAML (or JSON); the parser's own words.
    case malformedYAML(String)
    /// No document at all.
    case empty
    /// A field holds the wrong kind of value, e.g. a string where a list is expected.
    case wrongType(field: String, expected: String)
    /// A plain scalar that YAML 1.1 (go-yaml v2, as the API server reads policies) takes for a `boolean`, an
    /// `integer` or a `number` where a string belongs, e.g. `namespaces: [no]`.
    case notAString(field: String, value: String, kind: String)
    case missingField(String)
    case unsupportedAPIVersion(String)
    case wrongKind(String)
    case unknownLevel(String)
    case unknownStage(String)
    /// Kubernetes forbids one rule covering both resources (or namespaces) and non-resource URLs.
    case resourcesAndNonResourceURLs
    case invalidNonResourceURL(String, reason: String)
    case invalidGroup(String)
    case resourceNamesWithoutResources
    /// Kubernetes refuses a policy without rules rather than auditing nothing silently.
    case noRules

    public var description: String {
        switch self {
        case .malformedYAML(let detail): "malformed YAML: \(detail)"
        case .empty: "the policy is empty"
        case .wrongType(let field, let expected): "\(field) must be \(expected)"
        case .notAString(let field, let value, let kind):
            "\(field) must be a string, not the \(kind) \(value): write \"\(value)\" to keep it as text"
        case .missingField(let field): "\(field) is missing"
        case .unsupportedAPIVersion(let version):
            "unsupported apiVersion \"\(version)\", want \"audit.k8s.io/v1\""
        case .wrongKind(let kind): "kind is \"\(kind)\", want \"Policy\""
        case .unknownLevel(let level): "unknown level \"\(level)\""
        case .unknownStage(let stage): "unknown stage \"\(stage)\""
        case .resourcesAndNonResourceURLs:
            "a rule cannot apply to both resources (or namespaces) and nonResourceURLs"
        case .invalidNonResourceURL(let url, let reason): "nonResourceURL \"\(url)\" \(reason)"
        case .invalidGroup(let group): "group \"\(group)\" is not a valid DNS subdomain"
        case .resourceNamesWithoutResources: "resourceNames requires at least one resource"
        case .noRules: "the policy has no rules"
        }
    }
}
