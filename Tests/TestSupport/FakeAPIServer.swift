import Foundation
import Synchronization

/// A stand-in Kubernetes API server over real TLS on 127.0.0.1: records every request it
/// receives and answers a few read-only paths (more behaviours are added as tests need them).
public final class FakeAPIServer: Sendable {
    public let ca: TestCA
    public let caFile: String
    /// Upgrade requests (exec, attach, port-forward) and the echo tunnels behind them.
    public let upgrades: EchoUpgrades
    private let server: TestHTTPServer
    private let recorded: Recorder

    final class Recorder: Sendable {
        let requests = Mutex<[RecordedRequest]>([])
        let watchers = Mutex<[UUID: AsyncStream<[UInt8]>.Continuation]>([:])
        let tokenReviews = Mutex<[String: Bool]>([:])
    }

    /// With `serverName`, its certificate names only that (not 127.0.0.1, where it listens): a
    /// client must be told the name (`tls-server-name`) to trust it.
    public static func start(serverName: String? = nil) async throws -> FakeAPIServer {
        let ca = try TestCA(commonName: "fake API server CA")
        let recorded = Recorder()
        let upgrades = EchoUpgrades(protocols: ["SPDY/3.1", "websocket"])
        let certificate =
            try serverName.map { try ca.issueServingCertificate(dnsNames: [$0], loopback: false) }
            ?? ca.issueServingCertificate()
        let server = try await TestHTTPServer.start(
            tls: certificate, upgrades: upgrades, http2: true, clientCertificateCA: ca.certificatePEM
        ) {
            request in
            recorded.requests.withLock { $0.append(request) }
            // As the API server does, every answer names the request's audit ID: the one the
            // request brought in `Audit-ID`, else a new one.
            var response = FakeAPIServer.respond(to: request, recorded: recorded)
            response.headers.append(("Audit-Id", request.header("Audit-ID") ?? UUID().uuidString.lowercased()))
            return response
        }
        return FakeAPIServer(ca: ca, server: server, recorded: recorded, upgrades: upgrades)
    }

    private static func respond(to request: RecordedRequest, recorded: Recorder) -> CannedResponse {
        if request.uri.contains("watch=true") {
            let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self)
            let id = UUID()
            recorded.watchers.withLock { $0[id] = continuation }
            continuation.onTermination = { _ in _ = recorded.watchers.withLock { $0.removeValue(forKey: id) } }
            return .streaming(stream, headers: [("Content-Type", "application/json")])
        }
        if request.path == "/apis/authentication.k8s.io/v1/tokenreviews" {
            return FakeAPIServer.review(request, known: recorded.tokenReviews.withLock { $0 })
        }
        return FakeAPIServer.answer(request)
    }

    private init(ca: TestCA, server: TestHTTPServer, recorded: Recorder, upgrades: EchoUpgrades) {
        self.upgrades = upgrades
        self.ca = ca
        self.caFile = try! ca.writeCertificate(to: FileManager.default.temporaryDirectory)
        self.server = server
        self.recorded = recorded
    }

    public var url: String { server.baseURL }

    /// Watches currently open on this server.
    public var openWatches: Int { recorded.watchers.withLock { $0.count } }

    /// Sends one watch event (a JSON line) to every open watch.
    public func sendWatchEvent(_ json: String) {
        for watcher in recorded.watchers.withLock({ $0.values }) { watcher.yield(Array((json + "\n").utf8)) }
    }

    /// Ends every open watch.
    public func endWatches() {
        for watcher in recorded.watchers.withLock({ $0.values }) { watcher.finish() }
        recorded.watchers.withLock { $0.removeAll() }
    }

    /// Makes TokenReview accept (or reject) `token`.
    public func setTokenReview(_ token: String, authenticated: Bool) {
        recorded.tokenReviews.withLock { $0[token] = authenticated }
    }
    public var requests: [RecordedRequest] { recorded.requests.withLock { $0 } }
    /// Stops serving and removes the CA file it wrote.
    public func stop() async throws {
        try? FileManager.default.removeItem(atPath: caFile)
        try await server.stop()
    }

    /// Config maps, in any namespace: a write is answered with its own body, type and encoding
    /// (201 for a POST), as the API server answers with the object it stored; reading `broken`
    /// dies mid-body.
    static func configMaps(_ request: RecordedRequest) -> CannedResponse {
        if request.path.hasSuffix("/broken") {
            var response = CannedResponse.json(#"{"kind":"ConfigMap","apiVersion":"v1","data":{"#)
            response.closesMidBody = true
            return response
        }
        guard request.method != "GET" else {
            return .json(#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings"}}"#)
        }
        let echoed = ["Content-Type", "Content-Encoding"].compactMap { name in request.header(name).map { (name, $0) } }
        return CannedResponse(status: request.method == "POST" ? 201 : 200, headers: echoed, body: request.body)
    }

    /// The groups a TokenReview that accepts a token names its user's.
    public static let reviewedGroups = [
        "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated",
    ]

    static func review(_ request: RecordedRequest, known: [String: Bool]) -> CannedResponse {
        let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]
        let spec = object?["spec"] as? [String: Any]
        let token = spec?["token"] as? String ?? ""
        let authenticated = known[token] ?? false
        let audiences = (spec?["audiences"] as? [String]) ?? []
        let status: [String: Any] =
            authenticated
            ? [
                "authenticated": true,
                "user": ["username": "system:serviceaccount:default:robot", "groups": reviewedGroups],
                "audiences": audiences,
            ]
            : ["authenticated": false]
        let answer: [String: Any] = [
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec ?? [:], "status": status,
        ]
        let body = (try? JSONSerialization.data(withJSONObject: answer)) ?? Data()
        return CannedResponse(status: 201, headers: [("Content-Type", "application/json")], body: Array(body))
    }

    static func answer(_ request: RecordedRequest) -> CannedResponse {
        if request.path.hasPrefix("/api/v1/namespaces/"), request.path.contains("/configmaps") {
            return configMaps(request)
        }
        switch request.path {
        case "/version":
            return .json(#"{"major":"1","minor":"32","gitVersion":"v1.32.0-fake"}"#)
        case "/api/v1/namespaces/default/pods":
            return .json(#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#)
        case "/hang":
            var response = CannedResponse()
            response.silent = true
            return response
        case "/count":
            return .json(#"{"bytes":\#(request.bodyLength)}"#)
        case "/download":
            let size = Int(request.uri.split(separator: "=").last ?? "") ?? 0
            let stream = AsyncStream<[UInt8]> { continuation in
                let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
                var left = size
                while left > 0 {
                    continuation.yield(Array(chunk.prefix(left)))
                    left -= chunk.count
                }
                continuation.finish()
            }
            return .streaming(stream, headers: [("Content-Type", "application/octet-stream")])
        case "/partial":
            // Half of a body of known length, then nothing: a slow API server mid-response.
            let stream = AsyncStream<[UInt8]> { continuation in continuation.yield(Array("0123456789".utf8)) }
            return .streaming(stream, headers: [("Content-Type", "text/plain"), ("Content-Length", "20")])
        case "/echo":
            return CannedResponse(
                status: 200, headers: [("Content-Type", "application/octet-stream")], body: request.body)
        case "/api/v1/namespaces/kube-system/secrets":
            // As the API server refuses a list RBAC does not allow, pretty-printed (as it answers
            // curl) and with its details.
            return .json(
                """
                {
                  "kind": "Status",
                  "apiVersion": "v1",
                  "metadata": {},
                  "status": "Failure",
                  "message": "secrets is forbidden: User \\"banyan:alice@example.com\\" cannot list resource \\"secrets\\" in API group \\"\\" in the namespace \\"kube-system\\"",
                  "reason": "Forbidden",
                  "details": {
                    "kind": "secrets"
                  },
                  "code": 403
                }
                """, status: 403)
        case "/forbidden":
            return .json(
                #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden","reason":"Forbidden","code":403}"#,
                status: 403)
        default:
            return .json(
                #"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#, status: 404)
        }
    }
}
