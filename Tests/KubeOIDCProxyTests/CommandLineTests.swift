import Foundation
import TestSupport
import Testing

/// The built `kube-oidc-proxy` binary, run as an operator would run it.
@Suite struct CommandLineTests {
    @Test func versionPrintsAndExitsZero() async throws {
        let result = try await ProxyProcess.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("kube-oidc-proxy "))
    }

    @Test func helpListsFlagsWithDefaults() async throws {
        let result = try await ProxyProcess.run(["--help"])
        #expect(result.status == 0)
        for flag in [
            "--oidc-issuer-url", "--oidc-signing-algs", "--secure-port", "--token-passthrough", "--audit-policy-file",
            "--banyan-service-name",
        ] {
            #expect(result.stdout.contains(flag))
        }
        #expect(result.stdout.contains("(default 6443)"))
    }

    @Test func unknownFlagIsOneLineNamingItWithStatus2() async throws {
        let result = try await ProxyProcess.run(["--oidc-issuer=https://x"])
        #expect(result.status == 2)
        #expect(result.stderr == "kube-oidc-proxy: unknown flag: --oidc-issuer\n")
    }

    @Test func malformedValueNamesTheFlag() async throws {
        let result = try await ProxyProcess.run(["--secure-port=abc"])
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("--secure-port"))
    }

    @Test func plainHTTPIssuerIsAStartupError() async throws {
        let result = try await ProxyProcess.run(["--oidc-issuer-url=http://issuer.example", "--oidc-client-id=kube"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--oidc-issuer-url"))
    }

    @Test func hmacAlgorithmIsAStartupError() async throws {
        let result = try await ProxyProcess.run([
            "--oidc-issuer-url=https://issuer.example", "--oidc-client-id=kube", "--oidc-signing-algs=HS256",
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--oidc-signing-algs"))
    }

    @Test func unreadableCAFileExitsOne() async throws {
        let result = try await ProxyProcess.run([
            "--oidc-issuer-url=https://issuer.example", "--oidc-client-id=kube", "--oidc-ca-file=/nonexistent.pem",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("--oidc-ca-file"))
    }

    @Test func withoutKubeconfigOrServerOutsideAClusterItSaysSo() async throws {
        let result = try await ProxyProcess.run(
            ["--oidc-issuer-url=https://issuer.example", "--oidc-client-id=kube"], environment: ["PATH": "/usr/bin"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("in-cluster"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    /// A port already taken is the one line a bad flag gets, naming the flag that chose it
    /// (it was a log line saying "stopped with an error"), with status 1.
    @Test(arguments: ["secure-port", "readiness-probe-port"])
    func aPortInUseIsOneLineNamingItsFlag(flag: String) async throws {
        let issuer = try await TestIssuer.start()
        let taken = try await TestHTTPServer.start(tls: nil) { _ in CannedResponse() }
        let directory = try TemporaryDirectory("cert-dir")
        defer { directory.remove() }
        var ports = ["secure-port": "0", "readiness-probe-port": "0"]
        ports[flag] = String(taken.port)
        let result = try await ProxyProcess.run([
            "--oidc-issuer-url=\(issuer.url)", "--oidc-client-id=kube", "--oidc-ca-file=\(issuer.caFile)",
            "--server=https://127.0.0.1:1", "--insecure-skip-tls-verify", "--bind-address=127.0.0.1",
            "--secure-port=\(ports["secure-port"]!)", "--readiness-probe-port=\(ports["readiness-probe-port"]!)",
            "--cert-dir=\(directory.file("certs"))",
        ])
        #expect(result.status == 1)
        let last = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("kube-oidc-proxy: --\(flag): cannot listen on "), "\(result.stderr)")
        #expect(last.contains(":\(taken.port): Address already in use"), "\(result.stderr)")
        try await taken.stop()
        try await issuer.stop()
    }

    @Test func startsAgainstARealIssuerAndStopsOnSIGTERM() async throws {
        let issuer = try await TestIssuer.start()
        let directory = try TemporaryDirectory("cert-dir")
        defer { directory.remove() }
        let process = try ProxyProcess.start([
            "--oidc-issuer-url=\(issuer.url)", "--oidc-client-id=kube", "--oidc-ca-file=\(issuer.caFile)", "-v=2",
            "--server=https://127.0.0.1:1", "--insecure-skip-tls-verify", "--secure-port=0",
            "--readiness-probe-port=0", "--bind-address=127.0.0.1", "--cert-dir=\(directory.file("certs"))",
        ])
        var waited = 0
        while issuer.jwksFetches == 0 && waited < 100 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        #expect(issuer.jwksFetches >= 1, "the proxy never fetched the issuer's keys")
        let result = try await process.terminate()
        #expect(result.status == 0)
        try await issuer.stop()
    }
}
