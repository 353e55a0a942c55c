import DevEnvironment
import Foundation
import Logging
import OIDCVerifier
import TestSupport
import Testing

/// The development issuer, served over real TLS by its own CA, and its tokens checked by the
/// proxy's own verifier.
@Suite struct DevelopmentIssuerTests {
    @Test func discoveryNamesTheServerItIsServedFrom() throws {
        let issuer = try DevelopmentIssuer(clientID: "kube")
        let response = issuer.respond(
            to: LoopbackRequest(
                method: "GET", uri: "/.well-known/openid-configuration", serverURL: "https://127.0.0.1:4443"))
        let document = try JSONValue.parseObject(response.body)
        #expect(document["issuer"] == .string("https://127.0.0.1:4443"))
        #expect(document["jwks_uri"] == .string("https://127.0.0.1:4443/keys"))
        let keys = issuer.respond(to: LoopbackRequest(method: "GET", uri: "/keys"))
        let keySet = try JSONWebKeySet(json: keys.body)
        #expect(keySet.keys.map(\.keyID) == [issuer.keyID])
        #expect(issuer.respond(to: LoopbackRequest(method: "GET", uri: "/other")).status == 404)
    }

    @Test func everySessionHasItsOwnKey() throws {
        #expect(try DevelopmentIssuer(clientID: "kube").keyID != DevelopmentIssuer(clientID: "kube").keyID)
    }

    @Test func mintedTokensPassTheProxysVerifierWithTheBanyanMapping() async throws {
        let issuer = try DevelopmentIssuer(clientID: "kube-oidc-proxy-dev")
        let ca = try DevelopmentCA(commonName: "test issuer CA")
        let tls = try ca.issueLoopbackCertificate()
        let server = try await LoopbackHTTPSServer.start(
            name: "issuer", port: 0, certificatePEM: tls.certificatePEM, keyPEM: tls.keyPEM,
            logger: Logger(label: "test")
        ) { request in issuer.respond(to: request) }
        let directory = try TemporaryDirectory("dev-ca")
        defer { directory.remove() }
        let caFile = try directory.write(ca.certificatePEM, to: "ca.crt")
        let verifier = try OIDCVerifier(
            configuration: try OIDCConfiguration(
                issuerURL: server.url, clientID: "kube-oidc-proxy-dev", usernameClaim: "email",
                usernamePrefix: "banyan:", groupsClaim: "roles", groupsPrefix: "banyan:", caFile: caFile))
        #expect(await verifier.loadKeys())
        let token = try issuer.mintToken(
            issuerURL: server.url, email: "dev@example.com", roles: ["admin", "dev"], now: Date(),
            lifetime: .seconds(600))
        let verified = try await verifier.verify(token)
        #expect(verified.user == UserInfo(username: "banyan:dev@example.com", groups: ["banyan:admin", "banyan:dev"]))
        #expect(verified.expiresAt.timeIntervalSinceNow > 500)
        await verifier.shutdown()
        await server.stop()
    }
}
