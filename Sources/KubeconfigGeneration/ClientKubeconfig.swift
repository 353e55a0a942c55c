import Foundation
import Yams

/// A kubeconfig for a user of the proxy, as the Banyan desktop app writes one: one cluster (the
/// proxy's address, its CA, the local tunnel as `proxy-url`), one user (a token, a token file or
/// an exec credential plugin) and one context selecting both. Pure: ``yaml()`` renders it.
public struct ClientKubeconfig: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        /// The token itself, inline.
        case token(String)
        /// A file kubectl reads the token from on every request.
        case tokenFile(String)
        case exec(ExecPlugin)
    }

    /// A `client.authentication.k8s.io` exec credential plugin: kubectl runs it for a token.
    public struct ExecPlugin: Sendable, Equatable {
        public static let defaultAPIVersion = "client.authentication.k8s.io/v1"

        public var command: String
        public var arguments: [String]
        /// `NAME=value` pairs set for the plugin, in order.
        public var environment: [(name: String, value: String)]
        public var apiVersion: String
        /// Required by `client.authentication.k8s.io/v1`: `Never`, `IfAvailable` or `Always`.
        public var interactiveMode: String

        public init(
            command: String, arguments: [String] = [], environment: [(name: String, value: String)] = [],
            apiVersion: String = Self.defaultAPIVersion, interactiveMode: String = "IfAvailable"
        ) {
            self.command = command
            self.arguments = arguments
            self.environment = environment
            self.apiVersion = apiVersion
            self.interactiveMode = interactiveMode
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.command == rhs.command && lhs.arguments == rhs.arguments && lhs.apiVersion == rhs.apiVersion
                && lhs.interactiveMode == rhs.interactiveMode
                && lhs.environment.map { [$0.name, $0.value] } == rhs.environment.map { [$0.name, $0.value] }
        }
    }

    public var clusterName: String
    /// An `https://` URL (see ``ServerAddress``).
    public var server: String
    /// The proxy's CA certificate (PEM), embedded as `certificate-authority-data`; nil trusts the system roots.
    public var certificateAuthorityPEM: Data?
    /// The local tunnel kubectl connects through, e.g. `http://localhost:8443`.
    public var proxyURL: String?
    public var userName: String
    public var contextName: String
    public var namespace: String?
    public var credential: Credential

    public init(
        clusterName: String, server: String, certificateAuthorityPEM: Data? = nil, proxyURL: String? = nil,
        userName: String? = nil, contextName: String? = nil, namespace: String? = nil, credential: Credential
    ) {
        self.clusterName = clusterName
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.proxyURL = proxyURL
        self.userName = userName ?? clusterName
        self.contextName = contextName ?? clusterName
        self.namespace = namespace
        self.credential = credential
    }

    /// The kubeconfig as YAML (`apiVersion: v1`, `kind: Config`), its context current.
    public func yaml() -> String {
        // Encoding plain strings, arrays and optionals cannot fail.
        try! YAMLEncoder().encode(Document(self))
    }
}

// MARK: - The document as kubectl reads it

private struct Document: Encodable {
    struct Cluster: Encodable {
        var server: String
        var certificateAuthorityData: String?
        var proxyURL: String?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthorityData = "certificate-authority-data"
            case proxyURL = "proxy-url"
        }
    }

    struct Context: Encodable {
        var cluster: String
        var user: String
        var namespace: String?
    }

    struct User: Encodable {
        var token: String?
        var tokenFile: String?
        var exec: Exec?
    }

    struct Exec: Encodable {
        struct Variable: Encodable {
            var name: String
            var value: String
        }
        var apiVersion: String
        var command: String
        var args: [String]?
        var env: [Variable]?
        var interactiveMode: String
    }

    struct Named<Body: Encodable>: Encodable {
        let name: String
        let field: String
        let body: Body

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(name, forKey: Key("name"))
            try container.encode(body, forKey: Key(field))
        }
    }

    let apiVersion = "v1"
    let kind = "Config"
    let clusters: [Named<Cluster>]
    let users: [Named<User>]
    let contexts: [Named<Context>]
    let currentContext: String

    enum CodingKeys: String, CodingKey {
        case apiVersion, kind, clusters, users, contexts
        case currentContext = "current-context"
    }

    init(_ config: ClientKubeconfig) {
        clusters = [
            Named(
                name: config.clusterName, field: "cluster",
                body: Cluster(
                    server: config.server,
                    certificateAuthorityData: config.certificateAuthorityPEM?.base64EncodedString(),
                    proxyURL: config.proxyURL))
        ]
        let user: User
        switch config.credential {
        case .token(let token): user = User(token: token)
        case .tokenFile(let path): user = User(tokenFile: path)
        case .exec(let plugin):
            user = User(
                exec: Exec(
                    apiVersion: plugin.apiVersion, command: plugin.command,
                    args: plugin.arguments.isEmpty ? nil : plugin.arguments,
                    env: plugin.environment.isEmpty
                        ? nil : plugin.environment.map { Exec.Variable(name: $0.name, value: $0.value) },
                    interactiveMode: plugin.interactiveMode))
        }
        users = [Named(name: config.userName, field: "user", body: user)]
        contexts = [
            Named(
                name: config.contextName, field: "context",
                body: Context(cluster: config.clusterName, user: config.userName, namespace: config.namespace))
        ]
        currentContext = config.contextName
    }
}
