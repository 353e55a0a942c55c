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
