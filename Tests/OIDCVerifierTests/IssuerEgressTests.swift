import AsyncHTTPClient
import EgressProxy
import Testing

@testable import OIDCVerifier

/// The issuer's discovery, keys and claim sources go through the egress proxy `HTTPS_PROXY`
/// names, as the Banyan sink's batches do: a cluster that needs one for Banyan needs it for an
/// issuer on the internet too, or `/ready` never comes.
@Suite struct IssuerEgressTests {
    @Test func fetchesGoThroughTheEgressProxyUnlessNoProxyOrLoopbackSaysDirect() async throws {
        let environment = ["HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": ".corp.internal"]
        let client = try IssuerClient.make(caFile: nil, environment: environment, timeout: .seconds(1))
        let proxied = try #require(client.proxied?.http)
        #expect(client.proxied?.proxy == EgressProxy(kind: .http, host: "proxy.corp", port: 3128))
        #expect(client.proxied?.proxy.asyncHTTPClientProxy == .server(host: "proxy.corp", port: 3128))
        #expect(try client.client(for: "https://login.example.com/.well-known/openid-configuration") === proxied)
        #expect(try client.client(for: "https://keys.example.net:8443/jwks") === proxied)
        #expect(try client.client(for: "https://sso.corp.internal/jwks") === client.http)
        #expect(try client.client(for: "https://127.0.0.1:5556/jwks") === client.http)
        await client.shutdown()
    }

    @Test func withoutAProxySettingThereIsOneDirectClient() async throws {
        let client = try IssuerClient.make(caFile: nil, environment: [:], timeout: .seconds(1))
        #expect(client.proxied == nil)
        #expect(try client.client(for: "https://login.example.com/jwks") === client.http)
        await client.shutdown()
    }

    @Test func anUnusableProxySettingIsAnErrorNamingIt() {
        #expect(throws: (any Error).self) {
            _ = try IssuerClient.make(caFile: nil, environment: ["HTTPS_PROXY": "ftp://proxy"], timeout: .seconds(1))
        }
    }
}
