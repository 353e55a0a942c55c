import Foundation
import Testing
import UpstreamConfiguration

/// Which context, cluster and user a kubeconfig yields, and the errors naming a missing one.
@Suite struct KubeconfigSelectionTests {
    let fixture = UpstreamFixture.standard()

    @Test func currentContextIsUsedWithoutContextFlag() throws {
        let target = try fixture.resolve(.kubeconfig())
        #expect(target.baseURL.absoluteString == "https://dev.example:6443")
        #expect(target.credential == .bearerToken("dev-token-value"))
        #expect(target.origin == .kubeconfig(path: UpstreamFixture.kubeconfigPath, context: "dev"))
    }

    @Test func contextFlagPicksAnotherContext() throws {
        let target = try fixture.resolve(.kubeconfig(context: "prod"))
        #expect(target.baseURL.absoluteString == "https://prod.example")
        #expect(target.tlsServerName == "kubernetes.prod")
        #expect(
            target.credential
                == .clientCertificate(
                    certificatePEM: pem(UpstreamFixture.certificatePEM), keyPEM: pem(UpstreamFixture.keyPEM)))
    }

    @Test func clusterFlagOverridesTheContextsCluster() throws {
        let target = try fixture.resolve(.kubeconfig(cluster: "prod-cluster"))
        #expect(target.baseURL.absoluteString == "https://prod.example")
        #expect(target.credential == .bearerToken("dev-token-value"))
    }

    @Test func userFlagOverridesTheContextsUser() throws {
        let target = try fixture.resolve(.kubeconfig(user: "prod-user"))
        #expect(target.baseURL.absoluteString == "https://dev.example:6443")
        #expect(target.credential != .bearerToken("dev-token-value"))
        guard case .clientCertificate = target.credential else {
            Issue.record("expected a client certificate, got \(target.credential)")
            return
        }
    }

    @Test func clusterAndUserFlagsWorkWithoutAnyContext() throws {
        var fixture = fixture
        fixture.add(
            UpstreamFixture.kubeconfigPath,
            UpstreamFixture.kubeconfig.replacingOccurrences(of: "current-context: dev\n", with: ""))
        let target = try fixture.resolve(.kubeconfig(cluster: "dev-cluster", user: "dev-user"))
        #expect(target.baseURL.absoluteString == "https://dev.example:6443")
        #expect(target.origin == .kubeconfig(path: UpstreamFixture.kubeconfigPath, context: nil))
    }

    @Test func relativeFilesAreResolvedAgainstTheKubeconfigsDirectory() throws {
        let target = try fixture.resolve(.kubeconfig())
        #expect(target.trust == .caPEM(pem(UpstreamFixture.caPEM)))
    }

    @Test func relativeFilesAreFoundOnDisk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("certs"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = [
            "config": UpstreamFixture.kubeconfig, "ca.crt": UpstreamFixture.caPEM,
            "certs/client.crt": UpstreamFixture.certificatePEM, "certs/client.key": UpstreamFixture.keyPEM,
        ]
        for (name, contents) in files {
            try contents.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let resolver = UpstreamResolver(environment: [:], files: .fileSystem)
        let path = directory.appendingPathComponent("config").path
        let dev = try resolver.resolve(UpstreamFlags(kubeconfig: path))
        #expect(dev.trust == .caPEM(pem(UpstreamFixture.caPEM)))
        let prod = try resolver.resolve(UpstreamFlags(kubeconfig: path, context: "prod"))
        #expect(
            prod.credential
                == .clientCertificate(
                    certificatePEM: pem(UpstreamFixture.certificatePEM), keyPEM: pem(UpstreamFixture.keyPEM)))
    }

    @Test func aMissingKubeconfigFileNamesTheFlag() throws {
        let error = try #require(UpstreamFixture().refusal(.kubeconfig()))
        #expect(error.description == "--kubeconfig: cannot read /home/me/.kube/config: no such file")
    }

    @Test func aMissingContextIsNamed() throws {
        let error = try #require(fixture.refusal(.kubeconfig(context: "staging")))
        #expect(error.description == "context \"staging\" not found in /home/me/.kube/config")
    }

    @Test func aDanglingCurrentContextIsNamed() throws {
        let fixture = UpstreamFixture.with(
            kubeconfig: UpstreamFixture.kubeconfig.replacingOccurrences(
                of: "current-context: dev", with: "current-context: gone"))
        let error = try #require(fixture.refusal(.kubeconfig()))
        #expect(error.description == "current-context \"gone\" not found in /home/me/.kube/config")
    }

    @Test func aMissingClusterIsNamed() throws {
        let error = try #require(fixture.refusal(.kubeconfig(cluster: "nowhere")))
        #expect(error.description == "cluster \"nowhere\" not found in /home/me/.kube/config")
    }

    @Test func aContextNamingAMissingUserIsRefused() {
        let fixture = UpstreamFixture.with(
            kubeconfig: UpstreamFixture.kubeconfig.replacingOccurrences(of: "user: dev-user,", with: "user: ghost,"))
        #expect(fixture.refusal(.kubeconfig()) == .userNotFound(name: "ghost", kubeconfig: "/home/me/.kube/config"))
    }

    @Test func noContextAndNoClusterIsRefused() throws {
        let fixture = UpstreamFixture.with(kubeconfig: "apiVersion: v1\nkind: Config\n")
        let error = try #require(fixture.refusal(.kubeconfig()))
        #expect(error == .noClusterSelected(kubeconfig: "/home/me/.kube/config"))
        #expect(error.description.contains("--context"))
    }

    @Test func anEmptyKubeconfigWithServerFlagUsesTheFlags() throws {
        let fixture = UpstreamFixture.with(kubeconfig: "")
        let target = try fixture.resolve(.kubeconfig(server: "https://api.example"))
        #expect(target.baseURL.absoluteString == "https://api.example")
        #expect(target.credential == UpstreamTarget.Credential.none)
    }

    @Test func aClusterWithoutServerIsRefusedUnlessServerFlagIsGiven() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(of: "server: https://dev.example:6443", with: "")
        let fixture = UpstreamFixture.with(kubeconfig: yaml)
        let error = try #require(fixture.refusal(.kubeconfig()))
        #expect(error.description == "cluster \"dev-cluster\" in /home/me/.kube/config has no server; give --server")
        #expect(
            try fixture.resolve(.kubeconfig(server: "https://x.example")).baseURL.absoluteString == "https://x.example")
    }

    @Test func proxyURLIsRefused() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(
            of: "certificate-authority: ca.crt", with: "certificate-authority: ca.crt\n    proxy-url: http://proxy:3128"
        )
        let error = try #require(UpstreamFixture.with(kubeconfig: yaml).refusal(.kubeconfig()))
        #expect(
            error.description
                == "cluster \"dev-cluster\" in /home/me/.kube/config sets proxy-url, which is not supported")
    }

    @Test func insecureInTheKubeconfigIsHonoured() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(
            of: "certificate-authority: ca.crt", with: "insecure-skip-tls-verify: true")
        #expect(try UpstreamFixture.with(kubeconfig: yaml).resolve(.kubeconfig()).trust == .insecure)
    }

    @Test func insecureTogetherWithACAInTheKubeconfigIsRefused() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(
            of: "certificate-authority: ca.crt",
            with: "certificate-authority: ca.crt\n    insecure-skip-tls-verify: true")
        let error = try #require(UpstreamFixture.with(kubeconfig: yaml).refusal(.kubeconfig()))
        #expect(error == .insecureWithCertificateAuthority(source: "cluster \"dev-cluster\" in /home/me/.kube/config"))
        #expect(error.description.contains("specifying a root certificates file with the insecure flag is not allowed"))
    }

    @Test func aClusterWithoutCAUsesTheSystemRoots() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(of: "certificate-authority: ca.crt", with: "")
        #expect(try UpstreamFixture.with(kubeconfig: yaml).resolve(.kubeconfig()).trust == .systemRoots)
    }
}
