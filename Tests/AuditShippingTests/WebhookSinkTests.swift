import AuditBatcher
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import AuditShipping

/// The webhook sink, configured by a kubeconfig-format file as the API server's audit webhook is.
@Suite final class WebhookSinkTests: Sendable {
    /// The config files a test writes, removed when it ends.
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("webhook")
    }

    deinit {
        scratch.remove()
    }

    func write(_ text: String) throws -> String {
        try scratch.write(text, to: "webhook-\(UUID()).yaml")
    }

    /// A webhook file of one cluster, `audit`, whose settings are `cluster` (flow style), used as
    /// `user` (none by default) from `users`.
    func config(cluster: String, user: String? = nil, users: String = "[]") throws -> String {
        try write(
            """
            apiVersion: v1
            kind: Config
            clusters:
            - name: audit
              cluster: \(cluster)
            contexts:
            - name: audit
              context: {cluster: audit, user: \(user ?? #""""#)}
            current-context: audit
            users: \(users)
            """)
    }

    /// The shape of the Banyan chart's `configmap.yaml`: a sidecar on localhost, no credentials.
    @Test func postsTheEventListToTheSidecarOverPlainHTTP() async throws {
        let receiver = try await FakeWebhookReceiver.start()
        let file = try write(
            """
            apiVersion: v1
            kind: Config
            clusters:
            - name: banyan-audit
              cluster:
                server: http://localhost:\(receiver.port)/audit/webhook
            contexts:
            - name: default-context
              context:
                cluster: banyan-audit
                user: ""
            current-context: default-context
            preferences: {}
            users: []
            """)
        let sink = try WebhookSink(configFile: file)
        #expect(sink.url == "http://localhost:\(receiver.port)/audit/webhook")
        let body = AuditEventList.jsonBody(encodedEvents: [Fixtures.event("a"), Fixtures.event("b")])
        #expect(await sink.send(body) == .delivered)
        let post = try #require(receiver.posts.first)
        #expect(post.method == "POST")
        #expect(post.uri == "/audit/webhook")
        #expect(post.header("Content-Type") == "application/json")
        #expect(post.header("Authorization") == nil)
        #expect(try receiver.deliveredEvents().map { $0["auditID"] as? String } == ["a", "b"])
        receiver.failNextPosts([503, 400])
        guard case .failed(.retryable, _) = await sink.send(body) else {
            Issue.record("503 is retryable")
            return
        }
        guard case .failed(.rejected(statusCode: 400), _) = await sink.send(body) else {
            Issue.record("400 is a rejection")
            return
        }
        await sink.shutdown()
        try await receiver.stop()
    }

    /// As the API server's (client-go takes any http or https server): a collector in another
    /// namespace over plain http. The upstream API server keeps its loopback-only rule.
    @Test func plainHTTPIsAcceptedToAnyHost() throws {
        let sink = try WebhookSink(configFile: try config(cluster: "{server: http://collector.example:8080/}"))
        #expect(sink.url == "http://collector.example:8080")
    }

    /// The API server's webhook client gives a request 30 s (`defaultRequestTimeout`).
    @Test func aRequestHasThirtySeconds() throws {
        let transport = try WebhookSink(configFile: try config(cluster: "{server: http://localhost:8082/}")).transport
        #expect(transport.requestTimeout == .seconds(30))
        // The read timeout restarts at each read: at 15 s it cut off a receiver silent for longer.
        #expect(transport.configuration.timeout.read == .seconds(30))
    }

    /// `HTTPS_PROXY` is for https servers: a plain-http collector in the cluster is reached directly,
    /// an https one through the proxy (unless `NO_PROXY` names it).
    @Test func anHTTPSWebhookGoesThroughTheEgressProxy() throws {
        func proxy(_ server: String, _ environment: [String: String]) throws -> String? {
            let file = try config(cluster: "{server: \"\(server)\", insecure-skip-tls-verify: true}")
            return try WebhookSink(configFile: file, environment: environment).transport.configuration.proxy?.host
        }
        let environment = ["HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": ".svc"]
        #expect(try proxy("https://audit.example.com/events", environment) == "proxy.corp")
        #expect(try proxy("https://collector.logging.svc/events", environment) == nil)
        #expect(try proxy("http://collector.example:8080/", environment) == nil)
        #expect(try proxy("https://audit.example.com/events", [:]) == nil)
    }

    /// As client-go (which merges a user's auth only over TLS): over plain http the user's
    /// credential is not sent, and one warning names the file without the secret.
    @Test(arguments: ["{token: webhook-secret-token}", "{username: shipper, password: webhook-secret-token}"])
    func plainHTTPSendsNoCredential(user: String) async throws {
        let receiver = try await FakeWebhookReceiver.start()
        let file = try config(
            cluster: "{server: http://localhost:\(receiver.port)/events}", user: "shipper",
            users: "[{name: shipper, user: \(user)}]")
        let log = CapturedLog()
        let sink = try WebhookSink(configFile: file, logger: log.logger())
        #expect(await sink.send(AuditEventList.jsonBody(encodedEvents: [Fixtures.event("a")])) == .delivered)
        let post = try #require(receiver.posts.first)
        #expect(post.header("Authorization") == nil)
        let lines = log.text.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("warning audit webhook credential not sent: the server is plain http") == true)
        #expect(log.text.contains("file=\(file)"))
        #expect(!log.text.contains("webhook-secret-token"))
        await sink.shutdown()
        try await receiver.stop()
    }

    /// A receiver over TLS from a CA of its own, recording what it is sent; `caData` is the CA
    /// as a kubeconfig's `certificate-authority-data`.
    static func startTLSReceiver(dnsNames: [String] = [], loopback: Bool = true) async throws -> (
        server: TestHTTPServer, recorded: RequestLog, caData: String
    ) {
        let ca = try TestCA(commonName: "webhook CA")
        let recorded = RequestLog()
        let server = try await TestHTTPServer.start(
            tls: try ca.issueServingCertificate(dnsNames: dnsNames, loopback: loopback)
        ) { request in
            recorded.append(request)
            return .json("{}")
        }
        return (server, recorded, Data(ca.certificatePEM.utf8).base64EncodedString())
    }

    @Test func usesTheKubeconfigsCAAndBearerToken() async throws {
        let (server, recorded, caData) = try await Self.startTLSReceiver()
        let file = try write(
            """
            apiVersion: v1
            kind: Config
            clusters:
            - name: audit
              cluster:
                server: https://127.0.0.1:\(server.port)/events
                certificate-authority-data: \(caData)
            users:
            - name: shipper
              user:
                token: webhook-secret-token
            contexts:
            - name: audit
              context: {cluster: audit, user: shipper}
            current-context: audit
            """)
        let sink = try WebhookSink(configFile: file)
        #expect(await sink.send(AuditEventList.jsonBody(encodedEvents: [Fixtures.event("a")])) == .delivered)
        #expect(recorded.requests.first?.header("Authorization") == "Bearer webhook-secret-token")
        #expect(recorded.requests.first?.uri == "/events")
        await sink.shutdown()
        try await server.stop()
    }

    /// A receiver reached by address whose certificate names it otherwise: `tls-server-name`
    /// is the name checked (and sent in SNI), as client-go does; without it the TLS check fails.
    @Test(arguments: [true, false])
    func tlsServerNameIsTheNameTheCertificateIsCheckedAgainst(withServerName: Bool) async throws {
        let (server, recorded, caData) = try await Self.startTLSReceiver(
            dnsNames: ["audit.banyan.internal"], loopback: false)
        let file = try write(
            """
            apiVersion: v1
            kind: Config
            clusters:
            - name: audit
              cluster:
                server: https://127.0.0.1:\(server.port)/events
                certificate-authority-data: \(caData)
            \(withServerName ? "    tls-server-name: audit.banyan.internal" : "")
            contexts:
            - name: audit
              context: {cluster: audit, user: ""}
            current-context: audit
            users: []
            """)
        let sink = try WebhookSink(configFile: file)
        let answer = await sink.send(AuditEventList.jsonBody(encodedEvents: [Fixtures.event("a")]))
        if withServerName {
            #expect(answer == .delivered)
            #expect(recorded.requests.first?.uri == "/events")
            // The name checks the certificate; the request still names the server it was sent to.
            #expect(recorded.requests.first?.header("Host") == "127.0.0.1:\(server.port)")
        } else {
            guard case .failed(.retryable, let detail) = answer else {
                Issue.record("expected a TLS failure, got \(answer)")
                return
            }
            #expect(recorded.requests.isEmpty)
            #expect(detail.contains("certificate") || detail.contains("TLS") || detail.contains("SSL"), "\(detail)")
        }
        await sink.shutdown()
        try await server.stop()
    }

    /// A cluster's `proxy-url` is the webhook's proxy for every request, as client-go's: the
    /// batch goes through its `CONNECT` tunnel (here even to a loopback receiver, which the
    /// environment's `HTTPS_PROXY` would not proxy).
    @Test func aProxyURLInTheFileCarriesTheBatches() async throws {
        let (server, recorded, caData) = try await Self.startTLSReceiver()
        let proxy = try ConnectProxy()
        defer { proxy.stop() }
        let file = try config(
            cluster: "{server: \"https://127.0.0.1:\(server.port)/events\", certificate-authority-data: \(caData), "
                + "proxy-url: \"http://127.0.0.1:\(proxy.port)\"}")
        let sink = try WebhookSink(configFile: file, environment: ["NO_PROXY": "*"])
        #expect(await sink.send(AuditEventList.jsonBody(encodedEvents: [Fixtures.event("a")])) == .delivered)
        #expect(recorded.requests.count == 1)
        #expect(proxy.tunnels.map(\.target) == ["127.0.0.1:\(server.port)"])
        await sink.shutdown()
        try await server.stop()
    }

    @Test func anUnusableProxyURLIsAnErrorNamingIt() throws {
        let file = try config(cluster: #"{server: "https://audit.example/", proxy-url: "ftp://proxy.corp"}"#)
        do {
            _ = try WebhookSink(configFile: file)
            Issue.record("an ftp proxy-url was taken")
        } catch {
            #expect("\(error)".contains("proxy-url"), "\(error)")
        }
    }

    @Test func aBrokenConfigFileIsAnErrorNamingIt() throws {
        let file = try write("apiVersion: v1\nkind: Config\nclusters: []\n")
        #expect(throws: (any Error).self) { try WebhookSink(configFile: file) }
    }
}

final class RequestLog: Sendable {
    private let storage = Mutex<[RecordedRequest]>([])
    var requests: [RecordedRequest] { storage.withLock { $0 } }
    func append(_ request: RecordedRequest) { storage.withLock { $0.append(request) } }
}
