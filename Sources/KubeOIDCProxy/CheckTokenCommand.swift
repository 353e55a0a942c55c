import CommandLineFlags
import EgressProxy
import Foundation
import Impersonation
import Logging
import OIDCVerifier
import ProxyConfiguration
import TokenDiagnosis
import UpstreamConfiguration

#if canImport(Glibc)
    import Glibc
#endif

/// `kube-oidc-proxy check-token`: loads the issuer's keys as the proxy does, verifies one token
/// and prints the verdict in the operator's words. Exit 0 accepted, 1 refused, 2 bad usage.
enum CheckTokenCommand {
    static func run(_ arguments: [String]) async {
        func fail(_ message: String, exitCode: Int32) -> Never {
            KubeOIDCProxy.fail(message, exitCode: exitCode, command: "check-token")
        }
        let flags = KubeOIDCProxy.parseFlags(CheckTokenFlags.flagSet, arguments, command: "check-token")
        if flags.bool("help") {
            KubeOIDCProxy.output(
                """
                Says whether kube-oidc-proxy, run with the same --oidc-* flags, would accept a token, and if
                not exactly why; on success, the user and groups it would impersonate. The token is never printed.

                Usage:
                  kube-oidc-proxy check-token --oidc-issuer-url URL --oidc-client-id ID [--oidc-* flags] \\
                      (--token-file FILE | --kubeconfig FILE [--context NAME] [--user NAME] | < token)

                Exit status: 0 accepted, 1 refused, 2 usage error.

                Flags:

                """ + CheckTokenFlags.flagSet.usage())
            exit(0)
        }
        let options: CheckTokenOptions
        do {
            options = try CheckTokenOptions(
                flags, standardInputIsTerminal: isatty(STDIN_FILENO) == 1,
                environment: ProcessInfo.processInfo.environment)
        } catch {
            fail(error.description, exitCode: error.exitCode)
        }
        let token: String
        do {
            token = try readToken(options.source)
        } catch {
            fail(error.description, exitCode: error.exitCode)
        }

        // Logs only when asked for: the verdict is the output.
        let logger =
            options.verbosity > 0
            ? KubeOIDCProxy.makeLogger(verbosity: options.verbosity, label: "check-token")
            : Logger(label: "check-token", factory: { _ in SwiftLogNoOpLogHandler() })
        let verifier: OIDCVerifier
        do {
            var oidc = options.oidc
            oidc.proxyEnvironment = ProcessInfo.processInfo.environment
            verifier = try OIDCVerifier(configuration: oidc, logger: logger)
        } catch let invalid as EgressProxy.Invalid {
            fail(
                StartupError(flag: nil, "\(invalid) (the OIDC issuer's egress proxy)", exitCode: 1).description,
                exitCode: 1)
        } catch {
            fail(StartupError(flag: "oidc-ca-file", "\(error)", exitCode: 1).description, exitCode: 1)
        }
        await verifier.loadKeys()
        let verdict: TokenVerdict
        do {
            let verified = try await verifier.verify(token)
            verdict = TokenVerdict.impersonating(
                verified,
                options: ImpersonationOptions(
                    extraUserHeaders: options.extraUserHeaders.map { ExtraUserHeader(key: $0.key, value: $0.value) }))
        } catch {
            verdict = .refused(error)
        }
        let report = TokenReport(
            verdict,
            context: TokenReport.Context(
                now: Date(), configuration: options.oidc, issuerKeyIDs: verifier.keyIDs,
                keyLoadFailure: verifier.lastKeyLoadFailure, token: TokenContents(unverified: token)))
        await verifier.shutdown()
        KubeOIDCProxy.output(report.text)
        exit(report.accepted ? 0 : 1)
    }

    /// The token, trimmed; a pasted `Bearer ` prefix is dropped. Errors name the source.
    static func readToken(_ source: CheckTokenOptions.TokenSource) throws(StartupError) -> String {
        let raw: String
        let origin: String
        switch source {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw StartupError(flag: "token-file", "cannot read file \(path)", exitCode: 1)
            }
            (raw, origin) = (String(decoding: data, as: UTF8.self), "--token-file \(path)")
        case .standardInput:
            let data = FileHandle.standardInput.readDataToEndOfFile()
            (raw, origin) = (String(decoding: data, as: UTF8.self), "standard input")
        case .kubeconfig(let path, let context, let user):
            do {
                let found = try KubeconfigUserToken.read(kubeconfig: path, context: context, user: user)
                (raw, origin) = (found.token, "user \"\(found.user)\" in \(path)")
            } catch .unsupportedAuthentication(let user, let mechanism, let kubeconfig) {
                throw StartupError(
                    flag: "kubeconfig",
                    "user \"\(user)\" in \(kubeconfig) gets its token from \(mechanism); run it yourself and pipe "
                        + "the token in, or give --token-file", exitCode: 1)
            } catch {
                throw StartupError(flag: "kubeconfig", error.description, exitCode: 1)
            }
        }
        var token = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if token.lowercased().hasPrefix("bearer ") {
            token = String(token.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        guard !token.isEmpty else { throw StartupError(flag: nil, "no token in \(origin)", exitCode: 2) }
        return token
    }
}
