import Foundation
import Testing
import UpstreamConfiguration

/// A target is logged at start-up; its text must never carry a secret.
@Suite struct RedactionTests {
    static let secrets = ["s3cr3t-t0ken-value", "hunter2-password", "c2VjcmV0LWtleQ=="]

    func expectNoSecrets(_ target: UpstreamTarget, sourceLocation: SourceLocation = #_sourceLocation) {
        let texts = [
            target.description, "\(target)", String(reflecting: target), "\(target.credential)",
            String(reflecting: target.credential), dumped(target), dumped(target.credential),
        ]
        for text in texts {
            for secret in Self.secrets {
                #expect(!text.contains(secret), "\(text)", sourceLocation: sourceLocation)
            }
        }
    }

    func dumped(_ value: some Any) -> String {
        var text = ""
        dump(value, to: &text)
        return text
    }

    @Test func aBearerTokenIsRedacted() throws {
        let target = try UpstreamFixture().resolve(
            UpstreamFlags(server: "https://api.example", token: "s3cr3t-t0ken-value"))
        expectNoSecrets(target)
        #expect(target.description.contains("bearer token (redacted)"))
    }

    @Test func aPasswordIsRedactedButTheUsernameShown() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(
            of: "token: dev-token-value", with: "username: admin\n    password: hunter2-password")
        let target = try UpstreamFixture.with(kubeconfig: yaml).resolve(.kubeconfig())
        expectNoSecrets(target)
        #expect(target.description.contains("\"admin\""))
    }

    @Test func aClientKeyIsRedacted() throws {
        let target = try UpstreamFixture.standard().resolve(.kubeconfig(context: "prod"))
        expectNoSecrets(target)
        #expect(target.description.contains("client certificate"))
    }

    @Test func theDescriptionSaysWhereTheTargetCameFrom() throws {
        let target = try UpstreamFixture.standard().resolve(.kubeconfig())
        #expect(
            target.description
                == "https://dev.example:6443 from kubeconfig /home/me/.kube/config context \"dev\", "
                + "trusting a CA bundle (\(UpstreamFixture.caPEM.utf8.count) bytes), "
                + "authenticating with bearer token (redacted)")
    }

    @Test func errorsNeverQuoteFileContents() throws {
        var fixture = UpstreamFixture.standard()
        fixture.add("/etc/key-as-cert.pem", UpstreamFixture.keyPEM)
        let error = try #require(
            fixture.refusal(
                UpstreamFlags(
                    server: "https://api.example", clientCertificate: "/etc/key-as-cert.pem",
                    clientKey: "/etc/key-as-cert.pem")))
        #expect(!error.description.contains("c2VjcmV0LWtleQ=="))
    }
}
