/// One rule of an audit policy: the level for the requests it matches.
///
/// Every non-empty field narrows the rule; an empty field does not constrain. The fields are
/// matched exactly as the Kubernetes API server's policy checker matches them.
public struct AuditPolicyRule: Equatable, Hashable, Sendable {
    public var level: AuditLevel
    /// Usernames the rule applies to.
    public var users: [String]
    /// Groups the rule applies to; one group of the user in the list is enough.
    public var userGroups: [String]
    /// Kubernetes verbs (`get`, `list`, `watch`, ...) or, for non-resource URLs, lowercased HTTP methods.
    public var verbs: [String]
    /// When set, the rule matches resource requests only, and only these resources.
    public var resources: [AuditGroupResources]
    /// When set, the rule matches resource requests only, in these namespaces; `""` stands for cluster-scoped requests.
    public var namespaces: [String]
    /// When set, the rule matches non-resource requests only, on these paths (exact, or a prefix ending in `*`).
    public var nonResourceURLs: [String]
    public var omitStages: [AuditStage]
    /// `nil` inherits the policy's value.
    public var omitManagedFields: Bool?

    public init(
        level: AuditLevel,
        users: [String] = [],
        userGroups: [String] = [],
        verbs: [String] = [],
        resources: [AuditGroupResources] = [],
        namespaces: [String] = [],
        nonResourceURLs: [String] = [],
        omitStages: [AuditStage] = [],
        omitManagedFields: Bool? = nil
    ) {
        self.level = level
        self.users = users
        self.userGroups = userGroups
        self.verbs = verbs
        self.resources = resources
        self.namespaces = namespaces
        self.nonResourceURLs = nonResourceURLs
        self.omitStages = omitStages
        self.omitManagedFields = omitManagedFields
    }

    /// Whether the rule applies to `request` made by `username` (nil when nobody was authenticated) in `groups`.
    public func matches(_ request: RequestInfo, username: String?, groups: [String]) -> Bool {
        // Without an authenticated user, rules naming users or groups never apply.
        // Every comparison is on the UTF-8 bytes, as Go compares strings (see `goEquals`).
        if !users.isEmpty {
            guard let username, users.goContains(username) else { return false }
        }
        if !userGroups.isEmpty {
            guard username != nil, groups.contains(where: userGroups.goContains) else { return false }
        }
        if !verbs.isEmpty && !verbs.goContains(request.verb) { return false }
        if !namespaces.isEmpty || !resources.isEmpty { return matchesResource(request) }
        if !nonResourceURLs.isEmpty { return matchesNonResource(request) }
        return true
    }

    private func matchesResource(_ request: RequestInfo) -> Bool {
        guard request.isResourceRequest else { return false }
        // Cluster-scoped requests have the empty namespace, which `""` in the list names.
        if !namespaces.isEmpty && !namespaces.goContains(request.namespace) { return false }
        if resources.isEmpty { return true }
        return resources.contains {
            $0.matches(
                group: request.apiGroup,
                resource: request.resource,
                subresource: request.subresource,
                name: request.name
            )
        }
    }

    private func matchesNonResource(_ request: RequestInfo) -> Bool {
        guard !request.isResourceRequest else { return false }
        let star = UInt8(ascii: "*")
        return nonResourceURLs.contains { pattern in
            if pattern.goEquals("*") || pattern.goEquals(request.path) { return true }
            let bytes = pattern.utf8
            guard bytes.last == star else { return false }
            // Kubernetes trims every trailing `*`, so `/api**` is the prefix `/api` too; the prefix may end
            // inside a character (`/cafe*` covers `/cafe` + U+0301).
            var end = bytes.endIndex
            while end > bytes.startIndex && bytes[bytes.index(before: end)] == star { end = bytes.index(before: end) }
            return request.path.utf8.starts(with: bytes[..<end])
        }
    }
}
