/// Why the API server cannot be reached as configured. Each description is one line naming the
/// flag or the kubeconfig entry at fault.
public enum UpstreamConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Neither `--kubeconfig` nor `--server` was given and the pod environment is missing.
    case inClusterUnavailable(missingVariables: [String])
    /// `what` names the flag or entry that points at the file.
    case unreadableFile(what: String, path: String, reason: String)
    /// `format` is `YAML` or `JSON`.
    case kubeconfigSyntax(path: String, format: String, line: Int?, reason: String)
    case kubeconfigInvalid(path: String, line: Int?, reason: String)
    case contextNotFound(name: String, kubeconfig: String, fromCurrentContext: Bool)
    case clusterNotFound(name: String, kubeconfig: String)
    case userNotFound(name: String, kubeconfig: String)
    /// No `--context`, no `current-context`, no `--cluster` and no `--server`.
    case noClusterSelected(kubeconfig: String)
    /// `source` names the cluster, e.g. `cluster "prod" in /path/kubeconfig`.
    case missingServer(source: String)
    case invalidServer(source: String, value: String, reason: String)
    case unsupportedClusterSetting(cluster: String, setting: String, kubeconfig: String)
    case unsupportedAuthentication(user: String, mechanism: String, kubeconfig: String)
    case conflictingCredentials(user: String, methods: [String], kubeconfig: String)
    case incompleteClientCertificate(user: String, present: String, missing: String, kubeconfig: String)
    case clientCertificateFlagsIncomplete
    /// Inline or file content that is not what it should be (bad base64, not PEM).
    case invalidData(what: String, reason: String)
    case insecureWithCertificateAuthority(source: String)
    case flagRequiresKubeconfig(flag: String)
    case conflictingFlags(String, String)
    /// No `--user`, and no context naming one (reading a user's token).
    case noUserSelected(kubeconfig: String)
    /// The user holds a credential that is not a bearer token (reading a user's token).
    case userHasNoToken(user: String, holds: String, kubeconfig: String)

    public var description: String {
        let text =
            switch self {
            case .inClusterUnavailable(let missing):
                "in-cluster configuration is unavailable (\(missing.joined(separator: " and ")) not set); "
                    + "give --kubeconfig or --server"
            case .unreadableFile(let what, let path, let reason):
                "\(what): cannot read \(path): \(reason)"
            case .kubeconfigSyntax(let path, let format, let line?, let reason):
                "kubeconfig \(path): cannot parse \(format) at line \(line): \(reason)"
            case .kubeconfigSyntax(let path, let format, nil, let reason):
                "kubeconfig \(path): cannot parse \(format): \(reason)"
            case .kubeconfigInvalid(let path, let line?, let reason):
                "kubeconfig \(path): line \(line): \(reason)"
            case .kubeconfigInvalid(let path, nil, let reason):
                "kubeconfig \(path): \(reason)"
            case .contextNotFound(let name, let kubeconfig, let fromCurrentContext):
                fromCurrentContext
                    ? "current-context \"\(name)\" not found in \(kubeconfig)"
                    : "context \"\(name)\" not found in \(kubeconfig)"
            case .clusterNotFound(let name, let kubeconfig):
                "cluster \"\(name)\" not found in \(kubeconfig)"
            case .userNotFound(let name, let kubeconfig):
                "user \"\(name)\" not found in \(kubeconfig)"
            case .noClusterSelected(let kubeconfig):
                "no cluster selected in \(kubeconfig): it has no current-context; give --context, --cluster or --server"
            case .missingServer(let source):
                "\(source) has no server; give --server"
            case .invalidServer(let source, let value, let reason):
                "\(source): invalid server URL \"\(value)\": \(reason)"
            case .unsupportedClusterSetting(let cluster, let setting, let kubeconfig):
                "cluster \"\(cluster)\" in \(kubeconfig) sets \(setting), which is not supported"
            case .unsupportedAuthentication(let user, let mechanism, let kubeconfig):
                "user \"\(user)\" in \(kubeconfig) authenticates with \(mechanism), which is not supported; "
                    + "use a token, a token file or a client certificate, or give --token"
            case .conflictingCredentials(let user, let methods, let kubeconfig):
                "user \"\(user)\" in \(kubeconfig) has more than one credential "
                    + "(\(methods.joined(separator: ", "))); only one is allowed"
            case .incompleteClientCertificate(let user, let present, let missing, let kubeconfig):
                "user \"\(user)\" in \(kubeconfig) has \(present) but no \(missing)"
            case .clientCertificateFlagsIncomplete:
                "--client-certificate and --client-key must be given together"
            case .invalidData(let what, let reason):
                "\(what): \(reason)"
            case .insecureWithCertificateAuthority(let source):
                "\(source): specifying a root certificates file with the insecure flag is not allowed"
            case .flagRequiresKubeconfig(let flag):
                "\(flag) needs --kubeconfig"
            case .conflictingFlags(let first, let second):
                "\(first) and \(second) cannot be used together"
            case .noUserSelected(let kubeconfig):
                "no user selected in \(kubeconfig): it has no current-context; give --user or --context"
            case .userHasNoToken(let user, let holds, let kubeconfig):
                "user \"\(user)\" in \(kubeconfig) holds \(holds), not a bearer token"
            }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
