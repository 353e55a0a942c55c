import Foundation

/// Where the API server is and how the proxy authenticates to it, resolved and validated.
/// Its `description` is safe to log: it never holds a token, a password or a key.
public struct UpstreamTarget: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The server's base URL, without a trailing slash; a path prefix, if any, is kept.
    public var baseURL: URL
    public var trust: Trust
    /// The name to send in SNI and to verify the server certificate against, when it differs
    /// from the URL's host.
    public var tlsServerName: String?
    public var credential: Credential
    public var origin: Origin
    /// The cluster's `proxy-url`, when the resolver takes it (an audit webhook's); may hold a
    /// password, so it is not in the description.
    public var proxyURL: String?

    public init(baseURL: URL, trust: Trust, tlsServerName: String?, credential: Credential, origin: Origin) {
        self.baseURL = baseURL
        self.trust = trust
        self.tlsServerName = tlsServerName
        self.credential = credential
        self.origin = origin
    }

    public var description: String {
        var parts = ["\(baseURL.absoluteString) from \(origin)", "trusting \(trust)"]
        if let tlsServerName { parts.append("TLS server name \(tlsServerName)") }
        parts.append("authenticating with \(credential)")
        return parts.joined(separator: ", ")
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

extension UpstreamTarget {
    /// For clients that take the TLS name from the request URL (async-http-client): the server
    /// URL with `tls-server-name` as its host, and the DNS override that still sends connections
    /// for that name to the server's own host. Without a `tls-server-name`: the URL, no override.
    public var urlNamingTLSServer: (url: URL, dnsOverride: [String: String]) {
        guard let name = tlsServerName, let host = baseURL.host, name != host,
            var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)
        else { return (baseURL, [:]) }
        components.host = name
        guard let url = components.url else { return (baseURL, [:]) }
        return (url, [name: host])
    }
}

extension UpstreamTarget {
    /// How the server's certificate is verified.
    public enum Trust: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        case systemRoots
        /// Only these PEM certificates.
        case caPEM(Data)
        /// Not at all (`insecure-skip-tls-verify`).
        case insecure

        public var description: String {
            switch self {
            case .systemRoots: "the system roots"
            case .caPEM(let pem): "a CA bundle (\(pem.count) bytes)"
            case .insecure: "any certificate (insecure-skip-tls-verify)"
            }
        }

        public var debugDescription: String { description }
    }

    /// What the proxy presents to the API server as its own identity.
    public enum Credential: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
        CustomReflectable
    {
        case none
        case bearerToken(String)
        /// A file holding the token, re-read when it changes: Kubernetes rotates projected tokens.
        case bearerTokenFile(String)
        case clientCertificate(certificatePEM: Data, keyPEM: Data)
        case basic(username: String, password: String)

        public var description: String {
            switch self {
            case .none: "no credential"
            case .bearerToken: "bearer token (redacted)"
            case .bearerTokenFile(let path): "bearer token file \(path)"
            case .clientCertificate(let certificate, _): "client certificate (\(certificate.count) bytes, key redacted)"
            case .basic(let username, _): "basic auth as \"\(username)\" (password redacted)"
            }
        }

        public var debugDescription: String { description }

        public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
    }

    /// Which configuration the target came from.
    public enum Origin: Sendable, Equatable, CustomStringConvertible {
        case inCluster
        case kubeconfig(path: String, context: String?)
        /// `--server` and the other flags, without a kubeconfig.
        case flags

        public var description: String {
            switch self {
            case .inCluster: "in-cluster configuration"
            case .kubeconfig(let path, nil): "kubeconfig \(path)"
            case .kubeconfig(let path, let context?): "kubeconfig \(path) context \"\(context)\""
            case .flags: "flags"
            }
        }
    }
}
