/// The proxy's own additions to every impersonated identity.
public struct ImpersonationOptions: Sendable, Hashable {
    /// `--extra-user-headers`, in the order given; a key may repeat.
    public var extraUserHeaders: [ExtraUserHeader]
    /// `--extra-user-header-client-ip`.
    public var includesClientIP: Bool

    public init(extraUserHeaders: [ExtraUserHeader] = [], includesClientIP: Bool = false) {
        self.extraUserHeaders = extraUserHeaders
        self.includesClientIP = includesClientIP
    }
}

/// One `key=value` of `--extra-user-headers`, sent as `Impersonate-Extra-<key>: <value>`.
public struct ExtraUserHeader: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
