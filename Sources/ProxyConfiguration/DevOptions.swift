import CommandLineFlags
import Foundation

/// The flags of `kube-oidc-proxy dev`, the self-contained demo (SPEC section 9).
public enum DevFlags {
    public static let defaultUser = "dev@example.com"
    public static let defaultRoles = ["admin", "dev"]

    public static let flagSet = FlagSet([
        .string("user", default: defaultUser, usage: "`email` of the sample user the token is minted for"),
        .stringList("roles", default: defaultRoles, usage: "roles claim of the sample user (each becomes a group)"),
        .int("secure-port", usage: "proxy HTTPS port on 127.0.0.1; 0 picks a free port"),
        .int("readiness-probe-port", usage: "probe port on 127.0.0.1; 0 picks a free port"),
        .int("issuer-port", usage: "development OIDC issuer port on 127.0.0.1; 0 picks a free port"),
        .int("api-server-port", usage: "stand-in API server port on 127.0.0.1; 0 picks a free port"),
        .string(
            "state-dir",
            usage: "`directory` for certificates and the kubeconfig (default $TMPDIR/kube-oidc-proxy-dev-<uid>)"),
        .string("kubeconfig-out", usage: "where to write the kubeconfig (default <state-dir>/kubeconfig)"),
        .duration("token-lifetime", default: .seconds(12 * 3600), usage: "how long the minted token is valid"),
        .int("v", shorthand: "v", usage: "log verbosity: 0 info, 2 debug, 4 trace"),
        .bool("help", shorthand: "h", usage: "show this help and exit"),
    ])

    /// Proxy flags `dev` sets itself; giving them after `--` would break the demo (or its
    /// promise to listen on loopback only), so they are refused there.
    public static let ownedProxyFlags: Set<String> = [
        "oidc-issuer-url", "oidc-client-id", "oidc-ca-file", "oidc-username-claim", "oidc-username-prefix",
        "oidc-groups-claim", "oidc-groups-prefix", "oidc-signing-algs", "bind-address", "secure-port",
        "readiness-probe-port", "cert-dir", "tls-cert-file", "tls-private-key-file", "kubeconfig", "context",
        "cluster", "user", "server", "token", "certificate-authority", "client-certificate", "client-key",
        "insecure-skip-tls-verify", "disable-impersonation", "token-passthrough", "v", "help", "version",
    ]
}

/// `dev`'s settings, validated. Ports are on 127.0.0.1 only; nothing here can change that.
public struct DevOptions: Sendable, Equatable {
    public var email: String
    public var roles: [String]
    public var securePort: Int
    public var readinessProbePort: Int
    public var issuerPort: Int
    public var apiServerPort: Int
    public var stateDirectory: String
    public var kubeconfigPath: String
    public var tokenLifetime: Duration
    public var verbosity: Int
    /// Proxy flags given after `--`, passed on as they are.
    public var proxyArguments: [String]

    /// Splits the command line after `dev` at the first `--`: `dev`'s own flags, then proxy flags.
    public static func split(_ arguments: [String]) -> (own: [String], proxy: [String]) {
        guard let separator = arguments.firstIndex(of: "--") else { return (arguments, []) }
        return (Array(arguments[..<separator]), Array(arguments[(separator + 1)...]))
    }

    public init(_ flags: ParsedFlags, proxyArguments: [String] = [], defaultStateDirectory: String)
        throws(StartupError)
    {
        if let unexpected = flags.positional.first {
            throw StartupError(
                flag: nil, "dev takes no arguments, got \"\(unexpected)\" (proxy flags go after --)")
        }
        email = flags.string("user").trimmingCharacters(in: .whitespaces)
        guard !email.isEmpty, !email.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw StartupError(flag: "user", "must be a non-empty email address")
        }
        roles = flags.strings("roles").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func port(_ name: String) throws(StartupError) -> Int {
            let value = flags.int(name)
            guard (0...65535).contains(value) else {
                throw StartupError(flag: name, "\(value) is not a port (0-65535)")
            }
            return value
        }
        securePort = try port("secure-port")
        readinessProbePort = try port("readiness-probe-port")
        issuerPort = try port("issuer-port")
        apiServerPort = try port("api-server-port")
        let fixed = [
            ("secure-port", securePort), ("readiness-probe-port", readinessProbePort), ("issuer-port", issuerPort),
            ("api-server-port", apiServerPort),
        ].filter { $0.1 != 0 }
        for (index, (name, value)) in fixed.enumerated() {
            if let clash = fixed[..<index].first(where: { $0.1 == value }) {
                throw StartupError(flag: name, "port \(value) is already taken by --\(clash.0)")
            }
        }
        let stateDirectory = flags.string("state-dir").isEmpty ? defaultStateDirectory : flags.string("state-dir")
        self.stateDirectory = stateDirectory
        kubeconfigPath =
            flags.string("kubeconfig-out").isEmpty
            ? (stateDirectory as NSString).appendingPathComponent("kubeconfig") : flags.string("kubeconfig-out")
        tokenLifetime = flags.duration("token-lifetime")
        guard tokenLifetime >= .seconds(1) else {
            throw StartupError(flag: "token-lifetime", "must be at least 1s")
        }
        verbosity = flags.int("v")
        guard verbosity >= 0 else { throw StartupError(flag: "v", "must not be negative") }
        self.proxyArguments = proxyArguments
        try Self.checkProxyArguments(proxyArguments)
    }

    private static func checkProxyArguments(_ arguments: [String]) throws(StartupError) {
        guard !arguments.isEmpty else { return }
        let parsed: ParsedFlags
        do {
            parsed = try ProxyFlags.flagSet.parse(arguments)
        } catch {
            throw StartupError(flag: nil, "after --: \(error.description)")
        }
        if let owned = DevFlags.ownedProxyFlags.sorted().first(where: { parsed.isSet($0) }) {
            throw StartupError(flag: owned, "is set by dev itself and cannot be given after --")
        }
        if let unexpected = parsed.positional.first {
            throw StartupError(flag: nil, "after --: unexpected argument \"\(unexpected)\"")
        }
    }
}
