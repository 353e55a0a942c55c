import HTTPTypes

extension HTTPField.Name {
    public static var impersonateUser: Self { Self("Impersonate-User")! }
    public static var impersonateGroup: Self { Self("Impersonate-Group")! }
    public static var impersonateUid: Self { Self("Impersonate-Uid")! }

    /// The field carrying the values of one extra key, escaped as client-go escapes it so any
    /// key, however odd, makes a valid field name that the API server unescapes back.
    public static func impersonateExtra(key: String) -> Self {
        Self(impersonateExtraPrefix + ExtraKeyEscaping.escape(key))!
    }

    static let impersonateExtraPrefix = "Impersonate-Extra-"

    /// Whether the API server would read this field as an impersonation request.
    public var isImpersonation: Bool {
        switch canonicalName {
        case "impersonate-user", "impersonate-group", "impersonate-uid": true
        default: canonicalName.hasPrefix("impersonate-extra-")
        }
    }
}
