/// The kubectl client flags that choose and authenticate to the API server. An empty string
/// counts as unset, as pflag's string defaults are empty.
public struct UpstreamFlags: Sendable, Equatable {
    public var kubeconfig: String?
    public var context: String?
    public var cluster: String?
    public var user: String?
    public var server: String?
    public var token: String?
    public var certificateAuthority: String?
    public var clientCertificate: String?
    public var clientKey: String?
    public var insecureSkipTLSVerify: Bool

    public init(
        kubeconfig: String? = nil,
        context: String? = nil,
        cluster: String? = nil,
        user: String? = nil,
        server: String? = nil,
        token: String? = nil,
        certificateAuthority: String? = nil,
        clientCertificate: String? = nil,
        clientKey: String? = nil,
        insecureSkipTLSVerify: Bool = false
    ) {
        self.kubeconfig = kubeconfig
        self.context = context
        self.cluster = cluster
        self.user = user
        self.server = server
        self.token = token
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }
}

extension Optional where Wrapped == String {
    /// The value, unless it is absent or empty.
    var nonEmpty: String? {
        switch self {
        case .some(let value) where !value.isEmpty: value
        default: nil
        }
    }
}
