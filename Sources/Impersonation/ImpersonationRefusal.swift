import HTTPTypes

/// Why a verified request is not forwarded under the user's identity. Every case answers 403.
public enum ImpersonationRefusal: KubernetesStatusError, Hashable, CustomStringConvertible {
    /// The client asked to impersonate someone itself; the proxy would be lending it its own rights.
    case clientImpersonationHeader(HTTPField.Name)
    /// The username claim was present but yielded an empty username, which cannot be impersonated.
    case emptyUsername
    /// A value for this field (from the token's claims or the proxy's options) has a control
    /// character or surrounding white space, so it cannot be sent as it is; sending it altered
    /// would impersonate someone else.
    case unrepresentableValue(HTTPField.Name)

    public var status: KubernetesStatus {
        KubernetesStatus(code: 403, reason: .forbidden, message: message)
    }

    public var message: String {
        switch self {
        case .clientImpersonationHeader:
            "Impersonation requests are disabled when using kube-oidc-proxy"
        case .emptyUsername:
            "Username claim not available in OIDC Issuer response"
        case .unrepresentableValue(let name):
            "The authenticated user's \(name.rawName) value cannot be sent in an HTTP header"
        }
    }

    public var description: String {
        switch self {
        case .clientImpersonationHeader(let name):
            "client sent impersonation header \(name.rawName)"
        case .emptyUsername:
            "username claim yielded an empty username"
        case .unrepresentableValue:
            message + " (it contains a control character or leading or trailing white space)"
        }
    }
}
