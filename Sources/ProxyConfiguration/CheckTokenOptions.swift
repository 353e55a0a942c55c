import CommandLineFlags
import Foundation
import OIDCVerifier

/// The flags of `kube-oidc-proxy check-token`: the proxy's own OIDC flags, so a token is judged
/// exactly as the proxy would judge it, plus where the token comes from.
public enum CheckTokenFlags {
    public static let flagSet = FlagSet(
        ProxyFlags.oidc + [
            .string("token-file", usage: "`file` holding the token; '-' reads standard input"),
            .string("kubeconfig", usage: "read the token of a user in this kubeconfig"),
            .string("context", usage: "kubeconfig context whose user holds the token (default: current-context)"),
            .string("user", usage: "kubeconfig user holding the token (default: the context's user)"),
            .keyValues(
                "extra-user-headers",
                usage: "key=value pairs the proxy adds as Impersonate-Extra-<key>, as in the proxy"),
            .int("v", shorthand: "v", usage: "log verbosity while loading the issuer's keys: 2 debug, 4 trace"),
            .bool("help", shorthand: "h", usage: "show this help and exit"),
        ])
}

/// `check-token`'s settings, validated.
public struct CheckTokenOptions: Sendable {
    /// Where the token is read from.
    public enum TokenSource: Sendable, Equatable {
        case file(String)
        case standardInput
        case kubeconfig(path: String, context: String?, user: String?)
    }

    public var oidc: OIDCConfiguration
    public var source: TokenSource
    public var extraUserHeaders: [KeyValuePair]
    public var verbosity: Int

    /// - Parameters:
    ///   - standardInputIsTerminal: whether stdin is a terminal; when it is not and no other
    ///     source is named, the token is read from it (`echo $TOKEN | kube-oidc-proxy check-token …`).
    ///   - environment: `KUBECONFIG` and `HOME` find the kubeconfig when only `--context` or `--user` is given.
    public init(_ flags: ParsedFlags, standardInputIsTerminal: Bool, environment: [String: String] = [:])
        throws(StartupError)
    {
        // A lone `-` reads standard input, as `--token-file=-` does.
        let dash = flags.positional == ["-"]
        if let unexpected = flags.positional.first, !dash {
            throw StartupError(flag: nil, "check-token takes no arguments, got \"\(unexpected)\"")
        }
        oidc = try ProxyOptions.oidcConfiguration(flags)
        if dash && flags.isSet("token-file") {
            throw StartupError(flag: "token-file", "give either --token-file or -, not both")
        }
        let tokenFile = dash ? "-" : flags.string("token-file")
        var kubeconfig = flags.string("kubeconfig")
        let context = flags.string("context")
        let user = flags.string("user")
        if kubeconfig.isEmpty && !(context.isEmpty && user.isEmpty) {
            kubeconfig = Self.defaultKubeconfig(environment)
        }
        switch (tokenFile.isEmpty, kubeconfig.isEmpty) {
        case (false, false):
            throw StartupError(flag: "token-file", "give either --token-file or --kubeconfig, not both")
        case (false, true):
            source = tokenFile == "-" ? .standardInput : .file(tokenFile)
        case (true, false):
            source = .kubeconfig(
                path: kubeconfig, context: context.isEmpty ? nil : context, user: user.isEmpty ? nil : user)
        case (true, true):
            guard !standardInputIsTerminal else {
                throw StartupError(
                    flag: nil,
                    "no token given: use --token-file, --kubeconfig (with --user or --context), "
                        + "or pipe the token on standard input")
            }
            source = .standardInput
        }
        extraUserHeaders = flags.keyValues("extra-user-headers")
        verbosity = flags.int("v")
        guard verbosity >= 0 else { throw StartupError(flag: "v", "must not be negative") }
    }

    /// kubectl's choice: the first file of `$KUBECONFIG`, else `~/.kube/config`.
    static func defaultKubeconfig(_ environment: [String: String]) -> String {
        if let first = environment["KUBECONFIG"]?.split(separator: ":").first, !first.isEmpty {
            return String(first)
        }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
    }
}
