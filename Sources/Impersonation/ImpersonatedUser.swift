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
