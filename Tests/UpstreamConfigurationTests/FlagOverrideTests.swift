import Foundation
import Testing
import UpstreamConfiguration

/// The kubectl client flags applied over a kubeconfig, and without one.
@Suite struct FlagOverrideTests {
    var fixture: UpstreamFixture = {
        var fixture = UpstreamFixture.standard()
        fixture.add("/etc/flag-ca.crt", UpstreamFixture.otherCAPEM)
        fixture.add("/etc/flag.crt", UpstreamFixture.certificatePEM)
        fixture.add("/etc/flag.key", UpstreamFixture.keyPEM)
        return fixture
    }()

    func flags(_ change: (inout UpstreamFlags) -> Void, context: String? = nil) -> UpstreamFlags {
        var flags = UpstreamFlags.kubeconfig(context: context)
        change(&flags)
        return flags
    }

    @Test func serverFlagReplacesTheClustersServerAndTLSServerName() throws {
        let target = try fixture.resolve(flags({ $0.server = "https://other.example:443" }, context: "prod"))
        #expect(target.baseURL.absoluteString == "https://other.example:443")
        #expect(target.tlsServerName == nil)
        #expect(target.trust == .caPEM(pem(UpstreamFixture.otherCAPEM)))
    }

    @Test func certificateAuthorityFlagReplacesTheKubeconfigCA() throws {
        var fixture = fixture
        fixture.add("/etc/flag-ca.crt", "-----BEGIN CERTIFICATE-----\nZmxhZw==\n-----END CERTIFICATE-----\n")
        let target = try fixture.resolve(flags { $0.certificateAuthority = "/etc/flag-ca.crt" })
        #expect(target.trust == .caPEM(fixture.files["/etc/flag-ca.crt"]!))
    }

    @Test func certificateAuthorityFlagClearsKubeconfigInsecure() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(
            of: "certificate-authority: ca.crt", with: "insecure-skip-tls-verify: true")
        var fixture = UpstreamFixture.with(kubeconfig: yaml)
        fixture.add("/etc/flag-ca.crt", UpstreamFixture.otherCAPEM)
        let target = try fixture.resolve(flags { $0.certificateAuthority = "/etc/flag-ca.crt" })
        #expect(target.trust == .caPEM(pem(UpstreamFixture.otherCAPEM)))
    }

    @Test func insecureFlagDropsTheKubeconfigCA() throws {
        let target = try fixture.resolve(flags { $0.insecureSkipTLSVerify = true })
        #expect(target.trust == .insecure)
    }

    @Test func insecureFlagWithCertificateAuthorityFlagIsRefused() throws {
        let error = try #require(
            fixture.refusal(
                flags {
                    $0.insecureSkipTLSVerify = true
                    $0.certificateAuthority = "/etc/flag-ca.crt"
                }))
        #expect(
            error.description
                == "--certificate-authority with --insecure-skip-tls-verify: "
                + "specifying a root certificates file with the insecure flag is not allowed")
    }

    @Test func tokenFlagReplacesTheUsersClientCertificate() throws {
        let target = try fixture.resolve(flags({ $0.token = "flag-token" }, context: "prod"))
        #expect(target.credential == .bearerToken("flag-token"))
    }

    @Test func clientCertificateFlagsReplaceTheUsersToken() throws {
        let target = try fixture.resolve(
            flags {
                $0.clientCertificate = "/etc/flag.crt"
                $0.clientKey = "/etc/flag.key"
            })
        #expect(
            target.credential
                == .clientCertificate(
                    certificatePEM: pem(UpstreamFixture.certificatePEM), keyPEM: pem(UpstreamFixture.keyPEM)))
    }

    @Test func clientCertificateWithoutKeyIsRefused() throws {
        let error = try #require(fixture.refusal(flags { $0.clientCertificate = "/etc/flag.crt" }))
        #expect(error.description == "--client-certificate and --client-key must be given together")
        #expect(fixture.refusal(flags { $0.clientKey = "/etc/flag.key" }) == .clientCertificateFlagsIncomplete)
    }

    @Test func tokenWithClientCertificateIsRefused() {
        let refusal = fixture.refusal(
            flags {
                $0.token = "t"
                $0.clientCertificate = "/etc/flag.crt"
                $0.clientKey = "/etc/flag.key"
            })
        #expect(refusal == .conflictingFlags("--token", "--client-certificate"))
    }

    @Test func aMissingFlagFileNamesTheFlag() throws {
        let error = try #require(fixture.refusal(flags { $0.certificateAuthority = "/nope/ca.crt" }))
        #expect(error.description == "--certificate-authority: cannot read /nope/ca.crt: no such file")
    }

    @Test func aKeyFileThatIsNotAKeyNamesTheFlag() throws {
        let error = try #require(
            fixture.refusal(
                flags {
                    $0.clientCertificate = "/etc/flag.crt"
                    $0.clientKey = "/etc/flag.crt"
                }))
        #expect(error.description.hasPrefix("--client-key: no PEM private key"))
    }

    @Test func serverFlagAloneNeedsNoKubeconfig() throws {
        let target = try fixture.resolve(UpstreamFlags(server: "https://api.example:6443/"))
        #expect(target.baseURL.absoluteString == "https://api.example:6443")
        #expect(target.trust == .systemRoots)
        #expect(target.credential == UpstreamTarget.Credential.none)
        #expect(target.origin == .flags)
    }

    @Test func serverFlagWithEveryOtherFlag() throws {
        let target = try fixture.resolve(
            UpstreamFlags(
                server: "api.example:6443", certificateAuthority: "/etc/flag-ca.crt",
                clientCertificate: "/etc/flag.crt", clientKey: "/etc/flag.key"))
        #expect(target.baseURL.absoluteString == "https://api.example:6443")
        #expect(target.trust == .caPEM(pem(UpstreamFixture.otherCAPEM)))
        #expect(
            target.credential
                == .clientCertificate(
                    certificatePEM: pem(UpstreamFixture.certificatePEM), keyPEM: pem(UpstreamFixture.keyPEM)))
    }

    @Test func emptyFlagsCountAsUnset() throws {
        let target = try fixture.resolve(
            UpstreamFlags(
                kubeconfig: UpstreamFixture.kubeconfigPath, context: "", cluster: "", user: "", server: "", token: "",
                certificateAuthority: "", clientCertificate: "", clientKey: ""))
        #expect(target.baseURL.absoluteString == "https://dev.example:6443")
        #expect(target.credential == .bearerToken("dev-token-value"))
    }
}
