import CompressNIO
import Foundation
import NIOCore
import Synchronization

/// A stand-in Banyan REST API over real TLS on 127.0.0.1: exchanges the refresh token for access
/// tokens (`POST /api/v1/refresh_token`) and takes audit batches (`POST <events path>`), only
/// with the latest access token (or, for benchmarks that run several proxies against it, with
/// any it issued). Tests script failures and read back what arrived.
public final class FakeBanyanAPI: Sendable {
    public static let eventsPath = "/api/v1/events/kubernetes"

    public let ca: TestCA
    public let caFile: String
    public let refreshToken: String
    private let server: TestHTTPServer
    private let recorder: Recorder

    final class Recorder: Sendable {
        let state = Mutex(State())
    }

    struct State {
        var exchanges: [RecordedRequest] = []
        var posts: [RecordedRequest] = []
        var issued: [String] = []
        /// Statuses the next batch POSTs get, in order; then 200.
        var postStatuses: [Int] = []
        /// Statuses the next exchanges get, in order; then 200.
        var exchangeStatuses: [Int] = []
        /// Bodies the next successful exchanges answer with, `TOKEN` standing for the token issued.
        var exchangeBodies: [String] = []
        var down = false
    }

    /// Starts on a free port; with `tls` (the default) over a certificate from its own CA.
    /// `acceptsEveryIssuedToken`: batches are taken with any access token handed out, not only
    /// the latest, so several proxies can share it without refusing each other's tokens.
    public static func start(refreshToken: String, tls: Bool = true, acceptsEveryIssuedToken: Bool = false)
        async throws -> FakeBanyanAPI
    {
        let ca = try TestCA(commonName: "fake Banyan API CA")
        let recorder = Recorder()
        let server = try await TestHTTPServer.start(tls: tls ? try ca.issueServingCertificate() : nil) {
            request in
            FakeBanyanAPI.answer(
                request, recorder: recorder, refreshToken: refreshToken,
                acceptsEveryIssuedToken: acceptsEveryIssuedToken)
        }
        return FakeBanyanAPI(ca: ca, server: server, recorder: recorder, refreshToken: refreshToken)
    }

    private init(ca: TestCA, server: TestHTTPServer, recorder: Recorder, refreshToken: String) {
        self.ca = ca
        self.caFile = try! ca.writeCertificate(to: FileManager.default.temporaryDirectory)
        self.server = server
        self.recorder = recorder
        self.refreshToken = refreshToken
    }

    public var url: String { server.baseURL }
    public var port: Int { server.port }

    /// Stops serving and removes the CA file it wrote.
    public func stop() async throws {
        try? FileManager.default.removeItem(atPath: caFile)
        try await server.stop()
    }

    /// Token exchanges received.
    public var exchanges: [RecordedRequest] { recorder.state.withLock { $0.exchanges } }
    /// Batch POSTs received (whatever their answer).
    public var posts: [RecordedRequest] { recorder.state.withLock { $0.posts } }
    /// Access tokens handed out, oldest first.
    public var issuedAccessTokens: [String] { recorder.state.withLock { $0.issued } }

    public func failNextPosts(_ statuses: [Int]) { recorder.state.withLock { $0.postStatuses += statuses } }
    /// A 429 among them asks for `Retry-After: 120`.
    public func failNextExchanges(_ statuses: [Int]) { recorder.state.withLock { $0.exchangeStatuses += statuses } }
    /// The next successful exchanges answer 200 with these bodies instead of `{"Message":"TOKEN"}`,
    /// `TOKEN` replaced by the access token issued (which posts are then accepted with).
    public func answerNextExchanges(with bodies: [String]) {
        recorder.state.withLock { $0.exchangeBodies += bodies }
    }
    /// While down every request gets a 503.
    public func setDown(_ down: Bool) { recorder.state.withLock { $0.down = down } }

    /// The events of every batch answered 200, in arrival order (duplicates kept).
    public func deliveredEvents() throws -> [[String: Any]] {
        try posts.filter { $0.header("x-fake-status") == nil }.flatMap { try AuditBatchBody.items(of: $0) }
    }

    private static func answer(
        _ request: RecordedRequest, recorder: Recorder, refreshToken: String, acceptsEveryIssuedToken: Bool
    ) -> CannedResponse {
        recorder.state.withLock { state -> CannedResponse in
            if request.path == "/api/v1/refresh_token" {
                state.exchanges.append(request)
                if state.down { return .json(#"{"Message":"maintenance"}"#, status: 503) }
                if !state.exchangeStatuses.isEmpty {
                    let status = state.exchangeStatuses.removeFirst()
                    return .json(
                        #"{"Message":"exchange refused"}"#, status: status,
                        headers: status == 429 ? [("Retry-After", "120")] : [])
                }
                guard request.header("Authorization") == "Bearer \(refreshToken)", request.body.isEmpty else {
                    return .json(#"{"Message":"invalid refresh token"}"#, status: 401)
                }
                let token = "access-\(state.issued.count + 1)-\(UUID().uuidString)"
                state.issued.append(token)
                if !state.exchangeBodies.isEmpty {
                    return .json(state.exchangeBodies.removeFirst().replacingOccurrences(of: "TOKEN", with: token))
                }
                return .json(#"{"Message":"\#(token)"}"#)
            }
            guard request.path == Substring(FakeBanyanAPI.eventsPath) else {
                return .json(#"{"Message":"not found"}"#, status: 404)
            }
            var status = 200
            let accepted = acceptsEveryIssuedToken ? state.issued : state.issued.suffix(1)
            if state.down {
                status = 503
            } else if !accepted.contains(where: { request.header("Authorization") == "Bearer \($0)" }) {
                status = 401
            } else if !state.postStatuses.isEmpty {
                status = state.postStatuses.removeFirst()
            }
            state.posts.append(request.marked(status: status))
            return .json(#"{"Message":"\#(status == 200 ? "ok" : "refused")"}"#, status: status)
        }
    }
}

/// A stand-in audit webhook receiver (the Banyan sidecar's role): plain HTTP on 127.0.0.1,
/// answering each batch POST with the next scripted status, then 200.
public final class FakeWebhookReceiver: Sendable {
    private let server: TestHTTPServer
    private let recorder: Recorder

    final class Recorder: Sendable {
        let state = Mutex<(posts: [RecordedRequest], statuses: [Int])>(([], []))
    }

    public static func start() async throws -> FakeWebhookReceiver {
        let recorder = Recorder()
        let server = try await TestHTTPServer.start(tls: nil) { request in
            recorder.state.withLock { state in
                let status = state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
                state.posts.append(request.marked(status: status))
                return .json("{}", status: status)
            }
        }
        return FakeWebhookReceiver(server: server, recorder: recorder)
    }

    private init(server: TestHTTPServer, recorder: Recorder) {
        self.server = server
        self.recorder = recorder
    }

    public var port: Int { server.port }
    public func stop() async throws { try await server.stop() }
    public var posts: [RecordedRequest] { recorder.state.withLock { $0.posts } }
    public func failNextPosts(_ statuses: [Int]) { recorder.state.withLock { $0.statuses += statuses } }

    public func deliveredEvents() throws -> [[String: Any]] {
        try posts.filter { $0.header("x-fake-status") == nil }.flatMap { try AuditBatchBody.items(of: $0) }
    }
}

/// Reads an audit batch body as a receiver would: gunzip when `Content-Encoding: gzip`, then an
/// `audit.k8s.io/v1` `EventList`.
public enum AuditBatchBody {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func json(of request: RecordedRequest) throws -> [UInt8] {
        guard request.header("Content-Encoding") == "gzip" else { return request.body }
        var buffer = ByteBuffer(bytes: request.body)
        let plain = try buffer.decompress(with: .gzip())
        return Array(plain.readableBytesView)
    }

    public static func items(of request: RecordedRequest) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(try json(of: request)))
        guard let list = object as? [String: Any], list["kind"] as? String == "EventList",
            list["apiVersion"] as? String == "audit.k8s.io/v1", let items = list["items"] as? [[String: Any]]
        else { throw Invalid(description: "not an audit.k8s.io/v1 EventList") }
        return items
    }
}

extension RecordedRequest {
    /// Marks a request the fake answered with an error, so readers can tell delivered batches.
    func marked(status: Int) -> RecordedRequest {
        guard status != 200 else { return self }
        return RecordedRequest(
            method: method, uri: uri, headers: headers + [("x-fake-status", String(status))], body: body,
            bodyLength: bodyLength, version: version)
    }
}
