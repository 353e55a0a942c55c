/// One entry of a policy rule's `resources`: an API group and the resources in it the rule covers.
public struct AuditGroupResources: Equatable, Hashable, Sendable {
    /// The API group; the empty string is the core group (`/api/v1`).
    public var group: String
    /// Resource names as `pods`, `pods/log`, `pods/*`, `*/scale` or `*`; empty means every resource of the group.
    public var resources: [String]
    /// Object names the entry is limited to; empty means any name.
    public var resourceNames: [String]

    public init(group: String = "", resources: [String] = [], resourceNames: [String] = []) {
        self.group = group
        self.resources = resources
        self.resourceNames = resourceNames
    }

    /// Whether a resource request for `resource`/`subresource` named `name` in `group` falls under this entry.
    /// Strings are compared by their UTF-8 bytes, as Go compares them (see `goEquals`).
    func matches(group requestGroup: String, resource: String, subresource: String, name: String) -> Bool {
        guard group.goEquals(requestGroup) else { return false }
        if resources.isEmpty { return true }
        // A name filter applies to every listed resource, so check it once.
        if !resourceNames.isEmpty && !resourceNames.goContains(name) { return false }
        let combined = subresource.isEmpty ? resource : "\(resource)/\(subresource)"
        return resources.contains { pattern in
            let bytes = pattern.utf8
            if pattern.goEquals("*") || pattern.goEquals(combined) { return true }
            // `*/scale`: that subresource of any resource.
            if !subresource.isEmpty, pattern.goHasPrefix("*/"), bytes.dropFirst(2).elementsEqual(subresource.utf8) {
                return true
            }
            // Kubernetes lets `pods/*` match pods itself as well as every subresource of pods.
            if pattern.goHasSuffix("/*"), bytes.dropLast(2).elementsEqual(resource.utf8) { return true }
            return false
        }
    }
}
