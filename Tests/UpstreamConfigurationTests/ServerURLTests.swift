import Foundation
import Testing
import UpstreamConfiguration

/// Server addresses as kubectl reads them.
@Suite struct ServerURLTests {
    func baseURL(_ server: String) throws -> String {
        try UpstreamFixture().resolve(UpstreamFlags(server: server)).baseURL.absoluteString
    }

    func refusal(_ server: String) -> UpstreamConfigurationError? {
        UpstreamFixture().refusal(UpstreamFlags(server: server))
    }

    @Test(arguments: [
        ("api.example:6443", "https://api.example:6443"),
        ("10.0.0.1", "https://10.0.0.1"),
        ("[fd00::1]:6443", "https://[fd00::1]:6443"),
        ("HTTPS://api.example", "https://api.example"),
        ("https://rancher.example/k8s/clusters/c-1/", "https://rancher.example/k8s/clusters/c-1"),
    ])
    func serverWithoutSchemeOrWithSlashIsNormalised(server: String, expected: String) throws {
        #expect(try baseURL(server) == expected)
    }

    /// async-http-client takes the TLS name from the URL: with `tls-server-name` the URL names
    /// it (port and path prefix kept) and the override sends its connections to the real host.
    @Test(
        arguments: [
            (
                "https://10.0.0.1:6443", "kubernetes.default", "https://kubernetes.default:6443",
                ["kubernetes.default": "10.0.0.1"]
            ),
            ("https://10.0.0.1/k8s/c-1", "api.internal", "https://api.internal/k8s/c-1", ["api.internal": "10.0.0.1"]),
            ("https://api.example:6443", "api.example", "https://api.example:6443", [:]),
            ("https://api.example:6443", nil, "https://api.example:6443", [:]),
        ] as [(String, String?, String, [String: String])])
    func tlsServerNameBecomesTheRequestURLsHost(
        server: String, name: String?, url: String, dnsOverride: [String: String]
    ) throws {
        let target = UpstreamTarget(
            baseURL: try #require(URL(string: server)), trust: .systemRoots, tlsServerName: name, credential: .none,
            origin: .flags)
        #expect(target.urlNamingTLSServer.url.absoluteString == url)
        #expect(target.urlNamingTLSServer.dnsOverride == dnsOverride)
    }

    @Test(arguments: ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"])
    func plainHTTPIsAllowedToLoopback(server: String) throws {
        #expect(try baseURL(server) == server)
    }

    @Test func plainHTTPToAnotherHostIsRefused() throws {
        let error = try #require(refusal("http://api.example:8080"))
        #expect(
            error.description
                == "--server: invalid server URL \"http://api.example:8080\": "
                + "plain http is only allowed to a loopback host; use https")
    }

    /// An audit webhook file may name any http server, as the API server's may.
    @Test func plainHTTPToAnyHostIsAllowedWhenAsked() throws {
        var fixture = UpstreamFixture()
        fixture.role = .auditWebhook
        let target = try fixture.resolve(UpstreamFlags(server: "http://collector.example:8080/"))
        #expect(target.baseURL.absoluteString == "http://collector.example:8080")
        let error = try #require(fixture.refusal(UpstreamFlags(server: "ftp://collector.example")))
        #expect(error.description.hasSuffix("scheme must be https or http"))
    }

    /// A webhook address without a scheme is plain http, as client-go makes it (the Banyan
    /// sidecar's `localhost:8082`); an API server's is https.
    @Test func aWebhookWithoutASchemeIsPlainHTTP() throws {
        var fixture = UpstreamFixture()
        fixture.role = .auditWebhook
        #expect(
            try fixture.resolve(UpstreamFlags(server: "collector.logging:8080")).baseURL.absoluteString
                == "http://collector.logging:8080")
        #expect(try baseURL("collector.logging:8080") == "https://collector.logging:8080")
    }

    @Test(arguments: ["ftp://api.example", "https://", "https://user:pw@api.example", "https://a.example?x=1", "a b"])
    func malformedServersAreRefusedNamingTheFlag(server: String) throws {
        let error = try #require(refusal(server))
        guard case .invalidServer(let source, let value, _) = error else {
            Issue.record("expected invalidServer, got \(error)")
            return
        }
        #expect(source == "--server")
        #expect(value == server)
    }

    @Test func aKubeconfigServerErrorNamesTheCluster() throws {
        let yaml = UpstreamFixture.kubeconfig.replacingOccurrences(
            of: "https://dev.example:6443", with: "http://dev.example:6443")
        let error = try #require(UpstreamFixture.with(kubeconfig: yaml).refusal(.kubeconfig()))
        #expect(
            error.description.hasPrefix("cluster \"dev-cluster\" server in /home/me/.kube/config: invalid server URL"))
    }
}
