import Foundation

/// What `kube-oidc-proxy dev` prints once everything listens: where each part is, who the
/// sample user becomes, the kubeconfig, and the commands to try. Pure.
public struct DevelopmentBanner: Sendable, Equatable {
    public var proxyURL: String
    public var probeURL: String
    public var issuerURL: String
    public var apiServerURL: String
    public var clientID: String
    public var kubeconfigPath: String
    public var email: String
    public var roles: [String]
    /// The identity the proxy impersonates for the sample user (prefixes applied).
    public var username: String
    public var groups: [String]
    public var tokenExpiry: String
    /// The `check-token` invocation that judges the kubeconfig's token against this issuer.
    public var checkTokenArguments: [String]

    public init(
        proxyURL: String, probeURL: String, issuerURL: String, apiServerURL: String, clientID: String,
        kubeconfigPath: String, email: String, roles: [String], username: String, groups: [String],
        tokenExpiry: String, checkTokenArguments: [String]
    ) {
        self.proxyURL = proxyURL
        self.probeURL = probeURL
        self.issuerURL = issuerURL
        self.apiServerURL = apiServerURL
        self.clientID = clientID
        self.kubeconfigPath = kubeconfigPath
        self.email = email
        self.roles = roles
        self.username = username
        self.groups = groups
        self.tokenExpiry = tokenExpiry
        self.checkTokenArguments = checkTokenArguments
    }

    public var text: String {
        let kubectl = "kubectl --kubeconfig " + Self.shellQuoted(kubeconfigPath)
        return """
            kube-oidc-proxy dev is running; everything listens on 127.0.0.1 only. Ctrl-C stops it.

              proxy                \(proxyURL)
              probes               \(probeURL)/ready
              OIDC issuer          \(issuerURL)  (client ID \(clientID))
              stand-in API server  \(apiServerURL)

            Sample user \(email) with roles \(roles.isEmpty ? "(none)" : roles.joined(separator: ", ")); the proxy impersonates
              user    \(username)
              groups  \(groups.joined(separator: ", "))

            Kubeconfig (token valid until \(tokenExpiry)):
              \(kubeconfigPath)

            Try:
              \(kubectl) auth whoami
              \(kubectl) get pods
              \(kubectl) get namespaces
              \(checkTokenArguments.map(Self.shellQuoted).joined(separator: " "))

            """
    }

    /// A word as a POSIX shell reads it back unchanged.
    public static func shellQuoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+")
        if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}
