import AuditBatcher
import NIOCore
import NIOHTTP1
import Testing

@testable import ProxyServer

/// Which bodies an audit event records, and the bounded copy taken as they stream past.
@Suite struct AuditBodyCaptureTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var body: AuditedBody
        var level: AuditLevel
        var resource = true
        var longRunning = false
        var contentType: String? = "application/json"
        var contentEncoding: String? = nil
        var recorded: Bool

        var testDescription: String {
            "\(body) at \(level.rawValue), \(resource ? "resource" : "non-resource")\(longRunning ? ", long-running" : ""),"
                + " \(contentType ?? "no type"), \(contentEncoding ?? "no encoding") → \(recorded)"
        }
    }

    static let table: [Case] = [
        // Levels: the request body from Request on, the response body at RequestResponse only.
        Case(body: .request, level: .none, recorded: false),
        Case(body: .request, level: .metadata, recorded: false),
        Case(body: .request, level: .request, recorded: true),
        Case(body: .request, level: .requestResponse, recorded: true),
        Case(body: .response, level: .metadata, recorded: false),
        Case(body: .response, level: .request, recorded: false),
        Case(body: .response, level: .requestResponse, recorded: true),
        // Only resource requests have objects.
        Case(body: .request, level: .requestResponse, resource: false, recorded: false),
        Case(body: .response, level: .requestResponse, resource: false, recorded: false),
        // A watch or followed log is a stream, not an object; its request body still counts.
        Case(body: .response, level: .requestResponse, longRunning: true, recorded: false),
        Case(body: .request, level: .requestResponse, longRunning: true, recorded: true),
        // JSON and the +json patch types; not YAML apply patches, protobuf, CBOR, or no type at all.
        Case(body: .request, level: .request, contentType: "application/json; charset=utf-8", recorded: true),
        Case(body: .request, level: .request, contentType: "Application/JSON", recorded: true),
        Case(body: .request, level: .request, contentType: "application/merge-patch+json", recorded: true),
        Case(body: .request, level: .request, contentType: "application/strategic-merge-patch+json", recorded: true),
        Case(body: .request, level: .request, contentType: "application/json-patch+json", recorded: true),
        Case(body: .request, level: .request, contentType: "application/apply-patch+yaml", recorded: false),
        Case(body: .request, level: .request, contentType: "application/vnd.kubernetes.protobuf", recorded: false),
        Case(body: .response, level: .requestResponse, contentType: "application/cbor", recorded: false),
        Case(body: .request, level: .request, contentType: "text/plain", recorded: false),
        Case(body: .request, level: .request, contentType: nil, recorded: false),
        // A compressed body is not read.
        Case(body: .request, level: .request, contentEncoding: "gzip", recorded: false),
        Case(body: .response, level: .requestResponse, contentEncoding: "gzip", recorded: false),
        Case(body: .response, level: .requestResponse, contentEncoding: "identity", recorded: true),
    ]

    @Test(arguments: table) func theDecisionTable(_ row: Case) {
        let recorded = row.body.isRecorded(
            level: row.level, isResourceRequest: row.resource, isLongRunning: row.longRunning,
            contentType: row.contentType, contentEncoding: row.contentEncoding)
        #expect(recorded == row.recorded)
    }

    @Test func aBodyWithinTheBoundBecomesItsObjectCompacted() throws {
        var capture = AuditBodyCapture(limit: 64)
        capture.append(ByteBuffer(string: "{\"kind\":\n"))
        capture.append(ByteBuffer(string: "\"ConfigMap\"}"))
        #expect(capture.outcome == .object(RawJSON(trustedBytes: Array(#"{"kind":"ConfigMap"}"#.utf8))))
    }

    @Test func aBodyPastTheBoundIsDroppedAndCountsAsTooLarge() {
        var capture = AuditBodyCapture(limit: 16)
        capture.append(ByteBuffer(string: #"{"data":"#))
        capture.append(ByteBuffer(string: #""0123456789"}"#))
        #expect(capture.isOverLimit)
        #expect(capture.bytes.isEmpty, "the copy is released past the bound")
        capture.append(ByteBuffer(string: "more"))
        #expect(capture.outcome == .tooLarge)
    }

    @Test func aBodyExactlyAtTheBoundIsKept() {
        var capture = AuditBodyCapture(limit: 8)
        capture.append(ByteBuffer(string: #"{"a":12}"#))
        #expect(capture.outcome == .object(RawJSON(trustedBytes: Array(#"{"a":12}"#.utf8))))
    }

    @Test func aDeclaredLengthPastTheBoundCopiesNothing() {
        var capture = AuditBodyCapture(limit: 16, declaredLength: 17)
        capture.append(ByteBuffer(string: "{}"))
        #expect(capture.bytes.isEmpty)
        #expect(capture.outcome == .tooLarge)
    }

    @Test func aBodyThatIsNotJSONHasNoObject() {
        for text in ["", "{\"cut\":", "kind: ConfigMap"] {
            var capture = AuditBodyCapture()
            capture.append(ByteBuffer(string: text))
            #expect(capture.outcome == .notJSON, "\(text)")
        }
    }

    @Test func theDefaultBoundIsOneMebibytePerDirection() {
        #expect(AuditBodyCapture.defaultLimit == 1 << 20)
    }

    // MARK: the pipe's copy

    @Test func thePipeCopiesWhatIsBufferedAndWhatFollows() async throws {
        let pipe = BodyPipe {}
        _ = pipe.push(ByteBuffer(string: #"{"a":"#))
        pipe.startCapture(AuditBodyCapture())
        _ = pipe.push(ByteBuffer(string: "1}"))
        pipe.finish()
        var forwarded = ""
        for try await chunk in pipe { forwarded += String(buffer: chunk) }
        #expect(forwarded == #"{"a":1}"#, "the forwarded body is untouched")
        #expect(pipe.takeCapture()?.outcome == .object(RawJSON(trustedBytes: Array(#"{"a":1}"#.utf8))))
        #expect(pipe.takeCapture() == nil, "taken once")
    }

    @Test func aBodyCutShortHasNoCopy() {
        let pipe = BodyPipe {}
        pipe.startCapture(AuditBodyCapture())
        _ = pipe.push(ByteBuffer(string: "{}"))
        #expect(pipe.takeCapture() == nil, "not finished")
        let failed = BodyPipe {}
        failed.startCapture(AuditBodyCapture())
        _ = failed.push(ByteBuffer(string: "{}"))
        failed.fail(ChannelError.ioOnClosedChannel)
        #expect(failed.takeCapture() == nil)
    }

    /// The API server may answer before the client's connection has read the end of the body;
    /// every declared byte is the whole body all the same.
    @Test func aBodyWithEveryDeclaredByteIsWholeBeforeItsEndIsRead() {
        let pipe = BodyPipe {}
        pipe.startCapture(AuditBodyCapture(declaredLength: 7))
        _ = pipe.push(ByteBuffer(string: #"{"a":"#))
        #expect(pipe.takeCapture() == nil, "two bytes still to come")
        let whole = BodyPipe {}
        whole.startCapture(AuditBodyCapture(declaredLength: 7))
        _ = whole.push(ByteBuffer(string: #"{"a":"#))
        _ = whole.push(ByteBuffer(string: "1}"))
        #expect(whole.takeCapture()?.outcome == .object(RawJSON(trustedBytes: Array(#"{"a":1}"#.utf8))))
    }

    @Test func aPipeNotAskedToCopyCopiesNothing() {
        let pipe = BodyPipe {}
        _ = pipe.push(ByteBuffer(string: "{}"))
        pipe.finish()
        #expect(pipe.takeCapture() == nil)
    }

    // MARK: where the client sees the response complete

    static func head(_ code: Int, _ headers: [(String, String)] = []) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: HTTPHeaders(headers))
    }

    @Test func aResponseWithoutABodyIsCompleteWithItsHead() {
        #expect(ResponseCompletion(method: .GET, response: Self.head(204)).isComplete)
        #expect(ResponseCompletion(method: .GET, response: Self.head(304)).isComplete)
        #expect(ResponseCompletion(method: .HEAD, response: Self.head(200, [("Content-Length", "10")])).isComplete)
        #expect(ResponseCompletion(method: .GET, response: Self.head(200, [("Content-Length", "0")])).isComplete)
        #expect(!ResponseCompletion(method: .GET, response: Self.head(200, [("Content-Length", "1")])).isComplete)
        #expect(!ResponseCompletion(method: .GET, response: Self.head(200)).isComplete)
    }

    @Test func aBodyOfKnownLengthCompletesWithTheChunkThatReachesIt() {
        var completion = ResponseCompletion(method: .GET, response: Self.head(200, [("Content-Length", "10")]))
        let steps = [completion.relayed(4), completion.relayed(6), completion.relayed(0)]
        #expect(steps == [false, true, false], "true once, for the chunk that reaches the length")
    }

    @Test func aChunkedBodyCompletesOnlyAtItsEnd() {
        var completion = ResponseCompletion(method: .GET, response: Self.head(200))
        let completes = completion.relayed(1 << 20)
        #expect(!completes)
        #expect(!completion.isComplete)
    }
}
