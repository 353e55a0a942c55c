import CommandLineFlags
import Foundation
import KubeconfigGeneration

/// The flags of `kube-oidc-proxy kubeconfig`, which writes a kubeconfig for a user of the proxy
/// as the Banyan desktop app does.
public enum KubeconfigFlags {
    public static let flagSet = FlagSet([
        .string("cluster-name", usage: "`name` of the cluster entry: a Kubernetes object name (required)"),
        .string("server", usage: "the proxy's DNS `name:port` (or https:// URL) (required)"),
        .string("ca-file", usage: "PEM CA certificate of the proxy, embedded as certificate-authority-data"),
        .string("proxy-url", usage: "`URL` kubectl connects through, e.g. the local tunnel http://localhost:8443"),
        .string("namespace", usage: "default namespace of the context"),
        .string("user", usage: "name of the user entry (default: the cluster name)"),
        .string("context", usage: "name of the context (default: the cluster name)"),
        .string("token", usage: "bearer token for the user entry (inline)"),
        .string("token-file", usage: "`file` kubectl reads the user's token from (referenced, not copied)"),
        .string("exec-command", usage: "credential plugin kubectl runs for a token (client.authentication.k8s.io)"),
        .stringArray("exec-arg", usage: "argument to --exec-command; repeat for several"),
        .keyValues("exec-env", usage: "NAME=value set for --exec-command; repeat for several"),
        .string(
            "exec-api-version", default: ClientKubeconfig.ExecPlugin.defaultAPIVersion,
            usage: "apiVersion of the credential plugin"),
        .string("output", shorthand: "o", default: "-", usage: "`file` to write; '-' writes standard output"),
        .bool("help", shorthand: "h", usage: "show this help and exit"),
    ])
}

/// `kubeconfig`'s settings, validated; the CA file is read by the caller.
public struct KubeconfigOptions: Sendable, Equatable {
    public var clusterName: String
    public var server: String
    public var caFile: String?
    public var proxyURL: String?
    public var namespace: String?
    public var userName: String?
    public var contextName: String?
    public var credential: ClientKubeconfig.Credential
    /// nil: standard output.
    public var outputPath: String?

    public init(_ flags: ParsedFlags, workingDirectory: String = FileManager.default.currentDirectoryPath)
        throws(StartupError)
    {
        if let unexpected = flags.positional.first {
            throw StartupError(flag: nil, "kubeconfig takes no arguments, got \"\(unexpected)\"")
        }
        func optional(_ name: String) -> String? {
            let value = flags.string(name)
            return value.isEmpty ? nil : value
        }
        func objectName(_ flag: String, _ value: String) throws(StartupError) {
            if let problem = KubeconfigFieldRules.objectNameProblem(value) { throw StartupError(flag: flag, problem) }
        }
        clusterName = flags.string("cluster-name")
        try objectName("cluster-name", clusterName)
        switch KubeconfigFieldRules.serverURL(flags.string("server")) {
        case .success(let url): server = url
        case .failure(let problem): throw StartupError(flag: "server", problem.description)
        }
        caFile = optional("ca-file")
        proxyURL = optional("proxy-url")
        if let proxyURL, let problem = KubeconfigFieldRules.proxyURLProblem(proxyURL) {
            throw StartupError(flag: "proxy-url", problem)
        }
        namespace = optional("namespace")
        if let namespace { try objectName("namespace", namespace) }
        userName = optional("user")
        contextName = optional("context")

        let token = optional("token")
        let tokenFile = optional("token-file")
        let command = optional("exec-command")
        let given = [("token", token), ("token-file", tokenFile), ("exec-command", command)].filter { $0.1 != nil }
        guard given.count == 1 else {
            throw StartupError(
                flag: given.count > 1 ? given[1].0 : "token",
                given.count > 1
                    ? "give only one of --token, --token-file and --exec-command"
                    : "the user needs a credential: --token, --token-file or --exec-command")
        }
        if command == nil {
            for name in ["exec-arg", "exec-env"] where flags.isSet(name) {
                throw StartupError(flag: name, "needs --exec-command")
            }
        }
        if let token {
            guard !token.contains(where: { $0.isWhitespace }) else {
                throw StartupError(flag: "token", "must not contain white space")
            }
            credential = .token(token)
        } else if let tokenFile {
            let absolute =
                tokenFile.hasPrefix("/") ? tokenFile : (workingDirectory as NSString).appendingPathComponent(tokenFile)
            credential = .tokenFile((absolute as NSString).standardizingPath)
        } else {
            let apiVersion = flags.string("exec-api-version")
            guard apiVersion.hasPrefix("client.authentication.k8s.io/") else {
                throw StartupError(
                    flag: "exec-api-version", "\"\(apiVersion)\" is not a client.authentication.k8s.io version")
            }
            credential = .exec(
                ClientKubeconfig.ExecPlugin(
                    command: command ?? "", arguments: flags.strings("exec-arg"),
                    environment: flags.keyValues("exec-env").map { ($0.key, $0.value) }, apiVersion: apiVersion))
        }
        let output = flags.string("output")
        outputPath = output == "-" || output.isEmpty ? nil : output
    }

    /// The kubeconfig, given the CA file's contents (nil when `--ca-file` was not given).
    public func kubeconfig(certificateAuthorityPEM: Data?) -> ClientKubeconfig {
        ClientKubeconfig(
            clusterName: clusterName, server: server, certificateAuthorityPEM: certificateAuthorityPEM,
            proxyURL: proxyURL, userName: userName, contextName: contextName, namespace: namespace,
            credential: credential)
    }
}
