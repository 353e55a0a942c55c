/// The identity the proxy asks the API server to act as.
public struct ImpersonatedUser: Sendable, Hashable {
    public var username: String
    public var groups: [String]
    public var extra: [String: [String]]

    public init(username: String, groups: [String] = [], extra: [String: [String]] = [:]) {
        self.username = username
        self.groups = groups
        self.extra = extra
    }
}

extension ImpersonatedUser {
    /// The user as the API server's authenticator hands it on: with `system:authenticated`
    /// among its groups (added to every authenticated user, as the forwarded `Impersonate-Group`
    /// headers carry it), which audit policies and RBAC match on.
    public var authenticated: ImpersonatedUser {
        guard !groups.contains(ImpersonationFilter.allAuthenticatedGroup) else { return self }
        var user = self
        user.groups.append(ImpersonationFilter.allAuthenticatedGroup)
        return user
    }
}
