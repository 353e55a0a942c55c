import AsyncHTTPClient
import AuditBatcher
import EgressProxy
import Foundation
import Logging
import TestSupport
import Testing

@testable import AuditShipping

/// The Banyan sink against a fake Banyan REST API over real TLS on 127.0.0.1.
@Suite final class BanyanSinkTests: Sendable {
    static let refreshToken = "banyan-refresh-\(UUID().uuidString)"

    /// The refresh-token files a test writes, removed when it ends.
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("refresh")
    }

    deinit {
        scratch.remove()
    }

    func tokenFile(_ token: String = refreshToken) throws -> String {
        try scratch.write(token + "\n", to: "refresh-\(UUID())")
    }

    func sink(_ api: FakeBanyanAPI, log: CapturedLog = CapturedLog(), caFile: String?? = nil) throws -> BanyanSink {
        try BanyanSink(
            .init(
                restAPIURL: api.url, serviceName: "prod cluster/eu", refreshTokenFile: try tokenFile(),
                caFile: caFile ?? api.caFile),
            logger: log.logger())
    }

    static func body(events count: Int) -> [UInt8] {
        AuditEventList.jsonBody(encodedEvents: (0..<count).map { Fixtures.event("event-\($0)") })
    }

    @Test func theRefreshTokenIsExchangedAndTheAccessTokenCarriesTheBatch() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let sink = try self.sink(api)
        #expect(await sink.send(Self.body(events: 2)) == .delivered)
        #expect(await sink.send(Self.body(events: 1)) == .delivered)

        let exchange = try #require(api.exchanges.first)
        #expect(api.exchanges.count == 1, "the access token is reused until a 401")
        #expect(exchange.method == "POST")
        #expect(exchange.header("Authorization") == "Bearer \(Self.refreshToken)")
        #expect(exchange.body.isEmpty)
        let post = try #require(api.posts.first)
        #expect(post.method == "POST")
        #expect(post.uri == "/api/v1/events/kubernetes?service_name=prod%20cluster%2Feu")
        #expect(post.header("Authorization") == "Bearer \(api.issuedAccessTokens[0])")
        #expect(post.header("Content-Type") == "application/json")
        #expect(post.header("Content-Encoding") == nil, "small bodies go uncompressed")
        #expect(try AuditBatchBody.items(of: post).map { $0["auditID"] as? String } == ["event-0", "event-1"])
        await sink.shutdown()
        try await api.stop()
    }

    /// Behind an egress proxy (`HTTPS_PROXY`) the exchange and the batches go through a
    /// `CONNECT` tunnel, with the proxy's credentials, and TLS to Banyan inside it.
    @Test func anEgressProxyCarriesTheExchangeAndTheBatchesInATunnel() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let proxy = try ConnectProxy(requiredAuthorization: "Basic c3ZjOnBhc3M=")  // svc:pass
        defer { proxy.stop() }
        let log = CapturedLog()
        let sink = try BanyanSink(
            .init(
                restAPIURL: api.url, serviceName: "s", refreshTokenFile: try tokenFile(), caFile: api.caFile,
                proxy: EgressProxy(kind: .http, host: "127.0.0.1", port: proxy.port, username: "svc", password: "pass")
            ),
            logger: log.logger())
        #expect(await sink.send(Self.body(events: 2)) == .delivered)
        #expect(api.posts.count == 1)
        let tunnels = proxy.tunnels
        #expect(!tunnels.isEmpty)
        #expect(tunnels.allSatisfy { $0.target == "127.0.0.1:\(api.port)" }, "\(tunnels.map(\.target))")
        #expect(
            !tunnels.flatMap(\.headerLines).contains { $0.contains(Self.refreshToken) },
            "the token travels inside TLS, not in the CONNECT")
        await sink.shutdown()
        try await api.stop()
    }

    /// SPEC: the file wins when both the file and `BANYAN_REFRESH_TOKEN` are given.
    @Test func theTokenFileWinsOverTheEnvironment() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let sink = try BanyanSink(
            .init(
                restAPIURL: api.url, serviceName: "s", refreshTokenFile: try tokenFile(),
                refreshToken: "stale-environment-token", caFile: api.caFile),
            logger: CapturedLog().logger())
        #expect(await sink.send(Self.body(events: 1)) == .delivered)
        #expect(api.exchanges.map { $0.header("Authorization") } == ["Bearer \(Self.refreshToken)"])
        await sink.shutdown()
        try await api.stop()
    }

    @Test func bodiesOf4KiBOrMoreAreGzipped() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let sink = try self.sink(api)
        let body = Self.body(events: 20)
        #expect(body.count >= 4096)
        #expect(await sink.send(body) == .delivered)
        let post = try #require(api.posts.first)
        #expect(post.header("Content-Encoding") == "gzip")
        #expect(post.body.count < body.count)
        #expect(try AuditBatchBody.json(of: post) == body)
        await sink.shutdown()
        try await api.stop()
    }

    @Test func a401DropsTheAccessTokenAndTheRefreshExchangesOnce() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let sink = try self.sink(api)
        api.failNextPosts([401])
        guard case .failed(.unauthorized, _) = await sink.send(Self.body(events: 1)) else {
            Issue.record("a 401 is .unauthorized")
            return
        }
        #expect(await sink.refreshCredentials() == .refreshed)
        #expect(await sink.send(Self.body(events: 1)) == .delivered)
        #expect(api.exchanges.count == 2)
        #expect(api.posts.last?.header("Authorization") == "Bearer \(api.issuedAccessTokens[1])")
        await sink.shutdown()
        try await api.stop()
    }

    @Test func aRefusedExchangeIsLoggedWithTheServersMessageAndNeverTheToken() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let log = CapturedLog()
        let sink = try self.sink(api, log: log)
        api.failNextExchanges([403])
        guard case .failed(.retryable, _) = await sink.send(Self.body(events: 1)) else {
            Issue.record("no access token is a retryable failure")
            return
        }
        #expect(api.posts.isEmpty)
        #expect(log.text.contains("exchange refused"), "\(log.text)")
        #expect(log.text.contains("403"))
        #expect(await sink.send(Self.body(events: 1)) == .delivered)
        #expect(!log.text.contains(Self.refreshToken))
        for token in api.issuedAccessTokens { #expect(!log.text.contains(token)) }
        await sink.shutdown()
        try await api.stop()
    }

    /// A rate-limited exchange's `Retry-After` reaches the back-off: the send it held up fails
    /// asking for that wait.
    @Test func aRateLimitedExchangeSaysWhenToComeBack() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let sink = try self.sink(api)
        api.failNextExchanges([429, 403])
        #expect(
            await sink.send(Self.body(events: 1))
                == .failed(.retryable(retryAfter: .seconds(120)), detail: "no access token: the token exchange failed"))
        #expect(await sink.refreshCredentials() == .failed(retryAfter: nil), "a 403 asks for no wait")
        #expect(await sink.refreshCredentials() == .refreshed)
        await sink.shutdown()
        try await api.stop()
    }

    @Test func theSystemRootsAloneDoNotTrustAPrivateCA() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let log = CapturedLog()
        let sink = try self.sink(api, log: log, caFile: .some(nil))
        guard case .failed(.retryable, _) = await sink.send(Self.body(events: 1)) else {
            Issue.record("an untrusted server is a retryable failure")
            return
        }
        #expect(api.exchanges.isEmpty, "nothing reached the server")
        await sink.shutdown()
        try await api.stop()
    }

    @Test func serverErrorsAreRetryableAndHonourRetryAfter() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let sink = try self.sink(api)
        api.failNextPosts([500, 429])
        guard case .failed(.retryable, let detail) = await sink.send(Self.body(events: 1)) else {
            Issue.record("500 is retryable")
            return
        }
        #expect(detail.contains("HTTP 500"))
        guard case .failed(.retryable, _) = await sink.send(Self.body(events: 1)) else {
            Issue.record("429 is retryable")
            return
        }
        #expect(await sink.send(Self.body(events: 1)) == .delivered)
        await sink.shutdown()
        try await api.stop()
    }

    // MARK: Tokens that cannot work, and answers of another shape

    @Test func anExchangeAnswerOfAnotherShapeIsLoggedWithoutItsBody() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let log = CapturedLog()
        let sink = try self.sink(api, log: log)
        api.answerNextExchanges(with: [#"{"token":"TOKEN"}"#, #"{"Message":{"token":"TOKEN"}}"#])
        for _ in 0..<2 {
            guard case .failed(.retryable, _) = await sink.send(Self.body(events: 1)) else {
                Issue.record("an answer without a usable token is a retryable failure")
                return
            }
        }
        #expect(log.text.contains("without a usable access token"), "\(log.text)")
        #expect(api.issuedAccessTokens.count == 2)
        for token in api.issuedAccessTokens { #expect(!log.text.contains(token), "\(log.text)") }
        #expect(api.posts.isEmpty)
        await sink.shutdown()
        try await api.stop()
    }

    @Test func theMessageKeyIsMatchedInAnyCaseAsGoDecodesIt() async throws {
        let api = try await FakeBanyanAPI.start(refreshToken: Self.refreshToken)
        let sink = try self.sink(api)
        api.answerNextExchanges(with: [#"{"message":"TOKEN","expires":3600}"#])
        #expect(await sink.send(Self.body(events: 1)) == .delivered)
        #expect(api.posts.last?.header("Authorization") == "Bearer \(api.issuedAccessTokens[0])")
        await sink.shutdown()
        try await api.stop()
    }

    /// A token file with a second line (or a UTF-16 one) made an `Authorization` header the HTTP
    /// client refused, and its error, logged at every back-off, held the header whole.
    @Test func aRefreshTokenThatCannotWorkIsAStartupErrorNamingTheFlag() throws {
        let secret = "first-line-\(UUID().uuidString)"
        for contents in [secret + "\nsecond-line\n", "  \n", secret + " trailer"] {
            let file = try scratch.write(contents, to: "refresh-\(UUID())")
            do {
                _ = try BanyanSink(
                    .init(restAPIURL: "https://127.0.0.1:1", serviceName: "s", refreshTokenFile: file),
                    logger: .init(label: "t"))
                Issue.record("\(contents.debugDescription) was taken")
            } catch let failure as BanyanSink.Failure {
                #expect(failure.flag == "banyan-refresh-token-file")
                #expect(failure.description.contains(file))
                #expect(!failure.description.contains(secret), "\(failure)")
            }
        }
        #expect(throws: BanyanSink.Failure.self) {
            try BanyanSink(
                .init(restAPIURL: "https://127.0.0.1:1", serviceName: "s", refreshTokenFile: self.scratch.path),
                logger: .init(label: "t"))
        }
        do {
            _ = try BanyanSink(
                .init(restAPIURL: "https://127.0.0.1:1", serviceName: "s", refreshToken: "two words"),
                logger: .init(label: "t"))
            Issue.record("a malformed BANYAN_REFRESH_TOKEN was taken")
        } catch let failure as BanyanSink.Failure {
            #expect(failure.flag == nil)
            #expect(failure.description.contains("BANYAN_REFRESH_TOKEN") && !failure.description.contains("words"))
        }
    }

    @Test func httpClientErrorsAreDescribedWithoutTheirHeaderValues() {
        let described = SinkTransport.describe(HTTPClientError.invalidHeaderFieldValues(["Bearer secret-token"]))
        #expect(!described.contains("secret-token"), "\(described)")
        #expect(described.contains("Invalid header field values"))
        #expect(SinkTransport.describe(HTTPClientError.connectTimeout).contains("Connect timeout"))
    }
}
