import Foundation
import Testing
import UpstreamConfiguration

@Suite struct InClusterTests {
    func podFixture(host: String = "10.96.0.1", port: String = "443") -> UpstreamFixture {
        var fixture = UpstreamFixture()
        fixture.environment = ["KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port]
        fixture.add("/sa/token", "service-account-token")
        fixture.add("/sa/ca.crt", UpstreamFixture.caPEM)
        return fixture
    }

    @Test func withoutKubeconfigOrServerThePodEnvironmentIsUsed() throws {
        let target = try podFixture().resolve(UpstreamFlags())
        #expect(target.baseURL.absoluteString == "https://10.96.0.1:443")
        #expect(target.trust == .caPEM(pem(UpstreamFixture.caPEM)))
        #expect(target.tlsServerName == nil)
        #expect(target.origin == .inCluster)
    }

    @Test func theCredentialIsTheTokenFileNotItsValue() throws {
        let target = try podFixture().resolve(UpstreamFlags())
        #expect(target.credential == .bearerTokenFile("/sa/token"))
        #expect(!target.description.contains("service-account-token"))
        #expect(target.description.contains("bearer token file /sa/token"))
    }

    @Test func anIPv6ServiceHostIsBracketed() throws {
        let target = try podFixture(host: "fd00::1").resolve(UpstreamFlags())
        #expect(target.baseURL.absoluteString == "https://[fd00::1]:443")
    }

    @Test func missingEnvironmentSuggestsKubeconfigOrServer() throws {
        var fixture = podFixture()
        fixture.environment = [:]
        let error = try #require(fixture.refusal(UpstreamFlags()))
        #expect(
            error == .inClusterUnavailable(missingVariables: ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"]))
        #expect(error.description.contains("in-cluster configuration is unavailable"))
        #expect(error.description.contains("--kubeconfig or --server"))
    }

    @Test func anEmptyPortCountsAsMissing() {
        #expect(
            podFixture(port: "").refusal(UpstreamFlags())
                == .inClusterUnavailable(missingVariables: ["KUBERNETES_SERVICE_PORT"]))
    }

    @Test func aMissingTokenFileStopsStartUp() throws {
        var fixture = podFixture()
        fixture.files["/sa/token"] = nil
        let error = try #require(fixture.refusal(UpstreamFlags()))
        #expect(error.description == "in-cluster service account token: cannot read /sa/token: no such file")
    }

    @Test func aMissingCAFileStopsStartUp() {
        var fixture = podFixture()
        fixture.files["/sa/ca.crt"] = nil
        #expect(
            fixture.refusal(UpstreamFlags())
                == .unreadableFile(what: "in-cluster certificate authority", path: "/sa/ca.crt", reason: "no such file")
        )
    }

    @Test func tokenAndCertificateAuthorityFlagsOverrideTheServiceAccount() throws {
        var fixture = podFixture()
        fixture.add("/etc/other-ca.crt", UpstreamFixture.otherCAPEM)
        let target = try fixture.resolve(UpstreamFlags(token: "flag-token", certificateAuthority: "/etc/other-ca.crt"))
        #expect(target.credential == .bearerToken("flag-token"))
        #expect(target.trust == .caPEM(pem(UpstreamFixture.otherCAPEM)))
    }

    @Test func contextClusterAndUserFlagsNeedAKubeconfig() {
        let fixture = podFixture()
        #expect(fixture.refusal(UpstreamFlags(context: "x")) == .flagRequiresKubeconfig(flag: "--context"))
        #expect(fixture.refusal(UpstreamFlags(cluster: "x")) == .flagRequiresKubeconfig(flag: "--cluster"))
        #expect(
            fixture.refusal(UpstreamFlags(user: "x", server: "https://a.example"))
                == .flagRequiresKubeconfig(flag: "--user"))
    }
}
