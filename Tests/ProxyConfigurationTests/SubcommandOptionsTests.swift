import CommandLineFlags
import Foundation
import KubeconfigGeneration
import ProxyConfiguration
import Testing

/// The flags of `dev`, `check-token` and `kubeconfig`: defaults, sources and refusals naming the flag.
@Suite struct SubcommandOptionsTests {
    static let oidc = ["--oidc-issuer-url=https://issuer.example", "--oidc-client-id=kube"]

    func dev(_ arguments: [String]) throws -> DevOptions {
        let (own, proxy) = DevOptions.split(arguments)
        return try DevOptions(DevFlags.flagSet.parse(own), proxyArguments: proxy, defaultStateDirectory: "/tmp/dev-0")
    }

    func checkToken(_ arguments: [String], terminal: Bool = false, environment: [String: String] = [:]) throws
        -> CheckTokenOptions
    {
        try CheckTokenOptions(
            CheckTokenFlags.flagSet.parse(Self.oidc + arguments), standardInputIsTerminal: terminal,
            environment: environment)
    }

    func kubeconfig(_ arguments: [String]) throws -> KubeconfigOptions {
        try KubeconfigOptions(KubeconfigFlags.flagSet.parse(arguments), workingDirectory: "/home/me")
    }

    // MARK: dev

    @Test func devDefaultsToTheSampleUserFreePortsAndTheStateDirectory() throws {
        let options = try dev([])
        #expect(options.email == "dev@example.com")
        #expect(options.roles == ["admin", "dev"])
        let ports: [Int] = [options.securePort, options.readinessProbePort, options.issuerPort, options.apiServerPort]
        #expect(ports == [0, 0, 0, 0])
        #expect(options.stateDirectory == "/tmp/dev-0")
        #expect(options.kubeconfigPath == "/tmp/dev-0/kubeconfig")
        #expect(options.tokenLifetime == .seconds(12 * 3600))
        #expect(options.proxyArguments.isEmpty)
    }

    @Test func devPassesProxyFlagsAfterTheSeparator() throws {
        let options = try dev(["--user=a@example.com", "--", "--audit-log-path=-", "--extra-user-header-client-ip"])
        #expect(options.email == "a@example.com")
        #expect(options.proxyArguments == ["--audit-log-path=-", "--extra-user-header-client-ip"])
    }

    @Test(arguments: ["--bind-address=0.0.0.0", "--oidc-issuer-url=https://x", "--server=https://x", "--token=x"])
    func devRefusesProxyFlagsItOwns(_ flag: String) {
        let name = String(flag.dropFirst(2).prefix { $0 != "=" })
        do {
            _ = try dev(["--", flag])
            Issue.record("\(flag) was accepted")
        } catch let error as StartupError {
            #expect(error.flag == name)
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func devRefusesUnknownProxyFlags() {
        #expect(throws: StartupError(flag: nil, "after --: unknown flag: --no-such-flag")) {
            try dev(["--", "--no-such-flag"])
        }
    }

    @Test func devRefusesClashingPortsAndStrayArguments() {
        #expect(throws: StartupError(flag: "issuer-port", "port 8443 is already taken by --secure-port")) {
            try dev(["--secure-port=8443", "--issuer-port=8443"])
        }
        #expect(throws: StartupError(flag: "api-server-port", "70000 is not a port (0-65535)")) {
            try dev(["--api-server-port=70000"])
        }
        #expect(throws: StartupError(flag: nil, "dev takes no arguments, got \"now\" (proxy flags go after --)")) {
            try dev(["now"])
        }
        #expect(throws: StartupError(flag: "token-lifetime", "must be at least 1s")) {
            try dev(["--token-lifetime=0s"])
        }
    }

    // MARK: check-token

    @Test func checkTokenReadsFromTheNamedSource() throws {
        #expect(try checkToken(["--token-file=/t"]).source == .file("/t"))
        #expect(try checkToken(["--token-file=-"], terminal: true).source == .standardInput)
        #expect(try checkToken(["-"], terminal: true).source == .standardInput)
        #expect(try checkToken([]).source == .standardInput)
        #expect(
            try checkToken(["--kubeconfig=/k", "--user=alice"]).source
                == .kubeconfig(path: "/k", context: nil, user: "alice"))
        #expect(
            try checkToken(["--context=prod"], environment: ["KUBECONFIG": "/a:/b"]).source
                == .kubeconfig(path: "/a", context: "prod", user: nil))
        #expect(
            try checkToken(["--user=u"], environment: ["HOME": "/home/me"]).source
                == .kubeconfig(path: "/home/me/.kube/config", context: nil, user: "u"))
    }

    @Test func checkTokenRefusesAmbiguousOrMissingSources() {
        #expect(throws: StartupError.self) { try checkToken([], terminal: true) }
        #expect(throws: StartupError(flag: "token-file", "give either --token-file or --kubeconfig, not both")) {
            try checkToken(["--token-file=/t", "--kubeconfig=/k"])
        }
        #expect(throws: StartupError(flag: nil, "check-token takes no arguments, got \"eyJ\"")) {
            try checkToken(["eyJ"])
        }
    }

    @Test func checkTokenValidatesTheOIDCFlagsAsTheProxyDoes() {
        #expect(throws: StartupError(flag: "oidc-issuer-url", "is required")) {
            try CheckTokenOptions(
                CheckTokenFlags.flagSet.parse(["--oidc-client-id=kube"]), standardInputIsTerminal: false)
        }
        #expect(throws: StartupError.self) { try checkToken(["--oidc-signing-algs=HS256"]) }
    }

    // MARK: kubeconfig

    @Test func kubeconfigBuildsTheNamedCredential() throws {
        let token = try kubeconfig(["--cluster-name=prod", "--server=k8s.example.com:8443", "--token=abc"])
        #expect(token.server == "https://k8s.example.com:8443")
        #expect(token.credential == .token("abc"))
        #expect(token.outputPath == nil)
        let file = try kubeconfig(["--cluster-name=prod", "--server=k8s", "--token-file=tokens/t", "-o", "out"])
        #expect(file.credential == .tokenFile("/home/me/tokens/t"))
        #expect(file.outputPath == "out")
        let exec = try kubeconfig([
            "--cluster-name=prod", "--server=k8s", "--exec-command=banyanc", "--exec-arg=a", "--exec-arg=b,c",
        ])
        #expect(exec.credential == .exec(.init(command: "banyanc", arguments: ["a", "b,c"])))
    }

    @Test func kubeconfigRefusalsNameTheFlag() {
        let cases: [([String], String)] = [
            (["--server=k8s", "--token=t"], "cluster-name"),
            (["--cluster-name=Prod", "--server=k8s", "--token=t"], "cluster-name"),
            (["--cluster-name=p", "--server=k8s", "--token=t", "--namespace=Team_A"], "namespace"),
            (["--cluster-name=p", "--token=t"], "server"),
            (["--cluster-name=p", "--server=k8s", "--token=a b"], "token"),
            (["--cluster-name=p", "--server=k8s", "--token=t", "--exec-arg=x"], "exec-arg"),
            (["--cluster-name=p", "--server=k8s", "--exec-command=x", "--exec-api-version=v1"], "exec-api-version"),
        ]
        for (arguments, flag) in cases {
            do {
                _ = try kubeconfig(arguments)
                Issue.record("\(arguments) was accepted")
            } catch let error as StartupError {
                #expect(error.flag == flag, "\(arguments): \(error)")
                #expect(error.exitCode == 2)
            } catch {
                Issue.record("\(arguments): \(error)")
            }
        }
    }
}
