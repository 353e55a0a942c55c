/// The user a verified token stands for, after claim mapping and prefixes.
public struct UserInfo: Equatable, Hashable, Sendable {
    public var username: String
    public var groups: [String]
    public var extra: [String: [String]]

    public init(username: String, groups: [String] = [], extra: [String: [String]] = [:]) {
        self.username = username
        self.groups = groups
        self.extra = extra
    }
}
