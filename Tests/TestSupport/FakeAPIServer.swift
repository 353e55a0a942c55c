import Foundation
import Synchronization

/// A stand-in Kubernetes API server over real TLS on 127.0.0.1: records every request it
/// receives and answers a few read-only paths (more behaviours are added as tests need them).
public final class FakeAPIServer: Sendable {
    public let ca: TestCA
    public let caFile: String
    private let server: TestHTTPServer
    private let recorded: Recorder

    final class Recorder: Sendable {
        let requests = Mutex<[RecordedRequest]>([])
    }

    public static func start() async throws -> FakeAPIServer {
        let ca = try TestCA(commonName: "fake API server CA")
        let recorded = Recorder()
        let server = try await TestHTTPServer.start(tls: try ca.issueServingCertificate()) { request in
            recorded.requests.withLock { $0.append(request) }
            return FakeAPIServer.answer(request)
        }
        return FakeAPIServer(ca: ca, server: server, recorded: recorded)
    }

    private init(ca: TestCA, server: TestHTTPServer, recorded: Recorder) {
        self.ca = ca
        self.caFile = try! ca.writeCertificate(to: FileManager.default.temporaryDirectory)
        self.server = server
        self.recorded = recorded
    }

    public var url: String { server.baseURL }
    public var requests: [RecordedRequest] { recorded.requests.withLock { $0 } }
    public func stop() async throws { try await server.stop() }

    static func answer(_ request: RecordedRequest) -> CannedResponse {
        switch request.path {
        case "/version":
            return .json(#"{"major":"1","minor":"32","gitVersion":"v1.32.0-fake"}"#)
        case "/api/v1/namespaces/default/pods":
            return .json(#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#)
        case "/echo":
            return CannedResponse(
                status: 200, headers: [("Content-Type", "application/octet-stream")], body: request.body)
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
