import Foundation
import Testing
import UpstreamConfiguration

/// What a kubeconfig user entry yields as the proxy's credential.
@Suite struct KubeconfigCredentialTests {
    /// The standard kubeconfig with `dev-user`'s body replaced by `lines` (indented for it).
    func fixture(devUser lines: [String]) -> UpstreamFixture {
        let body = lines.map { "    " + $0 }.joined(separator: "\n")
        return .with(
            kubeconfig: UpstreamFixture.kubeconfig.replacingOccurrences(
                of: "    token: dev-token-value", with: body))
    }

    func credential(devUser lines: [String]) throws -> UpstreamTarget.Credential {
        try fixture(devUser: lines).resolve(.kubeconfig()).credential
    }

    @Test func tokenFileBecomesAFileCredentialResolvedAgainstTheKubeconfig() throws {
        var fixture = fixture(devUser: ["tokenFile: tokens/dev"])
        fixture.add("/home/me/.kube/tokens/dev", "file-token")
        #expect(try fixture.resolve(.kubeconfig()).credential == .bearerTokenFile("/home/me/.kube/tokens/dev"))
    }

    /// client-go re-reads `tokenFile` and uses what it last read over `token`.
    @Test func tokenFileWinsOverAnInlineToken() throws {
        var fixture = fixture(devUser: ["token: inline", "tokenFile: tokens/dev"])
        fixture.add("/home/me/.kube/tokens/dev", "file-token\n")
        #expect(try fixture.resolve(.kubeconfig()).credential == .bearerTokenFile("/home/me/.kube/tokens/dev"))
    }

    /// As client-go, the inline token stands in while the file cannot be read or holds no token;
    /// with `token` set, a missing file is not a start-up error.
    @Test(arguments: [nil, "", " \n"] as [String?])
    func inlineTokenIsUsedWhenTheTokenFileHoldsNone(fileContent: String?) throws {
        var fixture = fixture(devUser: ["token: inline", "tokenFile: tokens/dev"])
        if let fileContent { fixture.add("/home/me/.kube/tokens/dev", fileContent) }
        #expect(try fixture.resolve(.kubeconfig()).credential == .bearerToken("inline"))
    }

    /// `check-token --kubeconfig` judges the token the proxy would send: the file's.
    @Test(arguments: [("file-token\n", "file-token"), (nil, "inline"), ("", "inline")] as [(String?, String)])
    func theUsersTokenForCheckTokenFollowsTheSameRule(fileContent: String?, expected: String) throws {
        var fixture = fixture(devUser: ["token: inline", "tokenFile: tokens/dev"])
        if let fileContent { fixture.add("/home/me/.kube/tokens/dev", fileContent) }
        let found = try KubeconfigUserToken.read(
            kubeconfig: UpstreamFixture.kubeconfigPath, files: .inMemory(fixture.files))
        #expect(found == KubeconfigUserToken(user: "dev-user", token: expected))
    }

    @Test func anUnreadableTokenFileIsNamed() throws {
        let error = try #require(fixture(devUser: ["tokenFile: /missing/token"]).refusal(.kubeconfig()))
        #expect(
            error.description
                == "user \"dev-user\" tokenFile in /home/me/.kube/config: cannot read /missing/token: no such file")
    }

    @Test func inlineCertificateDataIsDecoded() throws {
        let credential = try credential(devUser: [
            "client-certificate-data: \(UpstreamFixture.base64(UpstreamFixture.certificatePEM))",
            "client-key-data: \(UpstreamFixture.base64(UpstreamFixture.keyPEM))",
        ])
        #expect(
            credential
                == .clientCertificate(
                    certificatePEM: pem(UpstreamFixture.certificatePEM), keyPEM: pem(UpstreamFixture.keyPEM)))
    }

    @Test func inlineDataWinsOverFiles() throws {
        let otherKey = "-----BEGIN PRIVATE KEY-----\naW5saW5l\n-----END PRIVATE KEY-----\n"
        let credential = try credential(devUser: [
            "client-certificate: /missing/client.crt",
            "client-certificate-data: \(UpstreamFixture.base64(UpstreamFixture.certificatePEM))",
            "client-key: certs/client.key",
            "client-key-data: \(UpstreamFixture.base64(otherKey))",
        ])
        #expect(
            credential == .clientCertificate(certificatePEM: pem(UpstreamFixture.certificatePEM), keyPEM: pem(otherKey))
        )
    }

    @Test func inlineCADataWinsOverTheCAFile() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(
            of: "certificate-authority: ca.crt",
            with: "certificate-authority: /missing/ca.crt\n    certificate-authority-data: "
                + UpstreamFixture.base64(UpstreamFixture.otherCAPEM))
        let target = try UpstreamFixture.with(kubeconfig: yaml).resolve(.kubeconfig())
        #expect(target.trust == .caPEM(pem(UpstreamFixture.otherCAPEM)))
    }

    @Test func badBase64IsNamed() throws {
        let error = try #require(
            fixture(devUser: ["client-certificate-data: '%%%'", "client-key: certs/client.key"]).refusal(.kubeconfig()))
        #expect(
            error.description == "user \"dev-user\" client-certificate-data in /home/me/.kube/config: not valid base64")
    }

    @Test func aCertificateFileThatIsNotPEMIsNamed() throws {
        var fixture = fixture(devUser: ["client-certificate: certs/client.crt", "client-key: certs/client.key"])
        fixture.add("/home/me/.kube/certs/client.crt", "garbage")
        let error = try #require(fixture.refusal(.kubeconfig()))
        #expect(error.description.hasPrefix("user \"dev-user\" client-certificate in /home/me/.kube/config: no PEM"))
    }

    @Test func aCertificateWithoutKeyIsRefused() throws {
        let error = try #require(fixture(devUser: ["client-certificate: certs/client.crt"]).refusal(.kubeconfig()))
        #expect(
            error.description
                == "user \"dev-user\" in /home/me/.kube/config has a client certificate but no client-key or client-key-data"
        )
    }

    @Test func usernameAndPasswordBecomeBasicAuth() throws {
        #expect(
            try credential(devUser: ["username: admin", "password: hunter2"])
                == .basic(username: "admin", password: "hunter2"))
    }

    @Test func aUserWithNothingIsAnonymous() throws {
        #expect(try credential(devUser: []) == UpstreamTarget.Credential.none)
    }

    @Test func tokenAndBasicAuthTogetherAreRefused() throws {
        let error = try #require(
            fixture(devUser: ["token: t", "username: admin", "password: p"]).refusal(.kubeconfig()))
        #expect(
            error
                == .conflictingCredentials(
                    user: "dev-user", methods: ["token", "username/password"], kubeconfig: "/home/me/.kube/config"))
    }

    @Test func execPluginsAreRefusedNamingTheUser() throws {
        let error = try #require(
            fixture(devUser: ["exec:", "  apiVersion: client.authentication.k8s.io/v1", "  command: aws"])
                .refusal(.kubeconfig()))
        #expect(
            error
                == .unsupportedAuthentication(user: "dev-user", mechanism: "exec", kubeconfig: "/home/me/.kube/config"))
        #expect(error.description.hasPrefix("user \"dev-user\" in /home/me/.kube/config authenticates with exec"))
        #expect(error.description.contains("not supported"))
    }

    @Test func authProvidersAreRefusedNamingTheUser() throws {
        let error = try #require(
            fixture(devUser: ["auth-provider:", "  name: oidc", "  config: {idp-issuer-url: https://x}"])
                .refusal(.kubeconfig()))
        #expect(
            error
                == .unsupportedAuthentication(
                    user: "dev-user", mechanism: "auth-provider", kubeconfig: "/home/me/.kube/config"))
    }

    @Test func tokenFlagStandsInForAnExecPlugin() throws {
        let fixture = fixture(devUser: ["exec: {command: aws}"])
        var flags = UpstreamFlags.kubeconfig()
        flags.token = "flag-token"
        #expect(try fixture.resolve(flags).credential == .bearerToken("flag-token"))
    }
}
