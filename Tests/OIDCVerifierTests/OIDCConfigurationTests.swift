import Testing

@testable import OIDCVerifier

/// Start-up errors name the flag at fault.
@Suite struct OIDCConfigurationTests {
    func flag(of make: () throws -> OIDCConfiguration) -> String? {
        do {
            _ = try make()
            return nil
        } catch {
            return (error as? OIDCConfiguration.Invalid)?.flag
        }
    }

    @Test func plainHTTPIssuerIsRefused() {
        #expect(
            flag { try OIDCConfiguration(issuerURL: "http://issuer.example", clientID: "kube") } == "oidc-issuer-url")
    }

    @Test func missingIssuerAndClientAreRefused() {
        #expect(flag { try OIDCConfiguration(issuerURL: "", clientID: "kube") } == "oidc-issuer-url")
        #expect(flag { try OIDCConfiguration(issuerURL: "https://issuer.example", clientID: "") } == "oidc-client-id")
    }

    @Test func emptyUsernameClaimIsRefused() {
        #expect(
            flag { try OIDCConfiguration(issuerURL: "https://i.example", clientID: "k", usernameClaim: "") }
                == "oidc-username-claim")
    }

    @Test func hmacSigningAlgorithmIsRefusedAtStartup() {
        #expect(
            flag { try OIDCConfiguration(issuerURL: "https://i.example", clientID: "k", signingAlgorithms: ["HS256"]) }
                == "oidc-signing-algs")
        #expect(
            flag { try OIDCConfiguration(issuerURL: "https://i.example", clientID: "k", signingAlgorithms: ["none"]) }
                == "oidc-signing-algs")
    }

    @Test func unreadableCAFileIsRefused() {
        #expect(
            flag { try OIDCConfiguration(issuerURL: "https://i.example", clientID: "k", caFile: "/nonexistent/ca.crt") }
                == "oidc-ca-file")
    }

    @Test func validConfigurationResolvesThePrefix() throws {
        let configuration = try OIDCConfiguration(issuerURL: "https://i.example", clientID: "k")
        #expect(configuration.policy.usernamePrefix == "https://i.example#")
        #expect(configuration.allowedAlgorithms == [.rs256])
    }
}
