import AuditBatcher
import Foundation
import Impersonation
import NIOCore
import NIOHTTP1

/// The audit step's part in one exchange, carried through the chain: the level is decided once,
/// when the user is known; at `Request` and `RequestResponse` the bodies are copied as they
/// stream past; the events are recorded once, before the client can see the response complete.
///
/// At level `None` (and without a policy) every call returns at once, and at `Metadata` nothing
/// is copied: the hot path pays for no more than the level asks.
struct ExchangeAuditContext: Sendable {
    let auditor: any ExchangeAuditor
    /// Empty when auditing is off.
    let auditID: String
    private let request: ProxyRequest
    private let received: Date
    private(set) var decision = AuditDecision.none
    private var user: ImpersonatedUser?
    private var authenticationFailed = false
    private var responseStarted: Date?
    /// The request's pipe, when it copies the body.
    private var requestBody: BodyPipe?
    private var responseBody: AuditBodyCapture?
    /// The response body is copied for the event's `responseObject` (else only for its `Status`).
    private var responseBodyIsObject = false
    /// The response is an error whose `Status` body the event copies.
    private var readsStatus = false
    private(set) var isRecorded = false

    init(auditor: any ExchangeAuditor, request: ProxyRequest) {
        self.auditor = auditor
        self.request = request
        let enabled = auditor.isEnabled
        auditID = enabled ? AuditID.random() : ""
        received = enabled ? Date() : .distantPast
    }

    /// Whether the API server would audit the moment this request's response starts.
    var isLongRunning: Bool { decision.requestInfo?.isLongRunning ?? false }

    /// The request was refused at authentication: decided for no user, and recorded as the API
    /// server's failed-authentication audit records it.
    mutating func decideForFailedAuthentication() {
        authenticationFailed = true
        decide(for: nil)
    }

    /// Decides the level, once: `user` is nil for a request refused at authentication.
    mutating func decide(for user: ImpersonatedUser?) {
        guard auditor.isEnabled else { return }
        self.user = user
        decision = auditor.decide(
            method: request.head.method.rawValue, uri: request.head.uri, username: user?.username,
            groups: user?.groups ?? [])
    }

    /// The request body is about to be forwarded from `pipe`: copies it when the event records it.
    mutating func captureRequestBody(_ pipe: BodyPipe) {
        guard decision.level >= .request else { return }
        let headers = request.head.headers
        guard
            decision.records(
                .request, isLongRunning: false, contentType: headers.first(name: "content-type"),
                contentEncoding: headers.first(name: "content-encoding"))
        else { return }
        pipe.startCapture(AuditBodyCapture(declaredLength: headers.first(name: "content-length").flatMap(Int.init)))
        requestBody = pipe
    }

    /// The response head arrived: its body is copied as it is relayed when the event records
    /// it, or when it is an error's `Status`, which the API server copies into its event at every
    /// level from `Metadata` (`LogResponseObject`). (A success answered with a `Status`, a
    /// delete's say, is not looked for: that would copy every JSON answer at `Metadata`.)
    mutating func captureResponseBody(_ head: HTTPResponseHead, isLongRunning: Bool) {
        // The usual exchange, a success at `Metadata`, reads no header here.
        guard decision.level >= .requestResponse || (decision.level != .none && !(200..<300).contains(head.status.code))
        else { return }
        let contentType = head.headers.first(name: "content-type")
        let contentEncoding = head.headers.first(name: "content-encoding")
        let recordsObject =
            decision.level >= .requestResponse
            && decision.records(
                .response, isLongRunning: isLongRunning, contentType: contentType, contentEncoding: contentEncoding)
        readsStatus =
            !(200..<300).contains(head.status.code) && !isLongRunning && AuditedBody.isJSON(contentType: contentType)
            && AuditedBody.isIdentity(contentEncoding: contentEncoding)
        guard recordsObject || readsStatus else { return }
        responseBody = AuditBodyCapture(
            limit: recordsObject ? AuditBodyCapture.defaultLimit : Self.statusBodyLimit,
            declaredLength: head.headers.first(name: "content-length").flatMap(Int.init))
        responseBodyIsObject = recordsObject
    }

    /// An error's `Status` is a few hundred bytes; a body past this is not one worth reading.
    static let statusBodyLimit = 64 << 10

    /// An upgrade the API server answered instead of switching protocols (an exec it refused):
    /// recorded with its whole body, an error's `Status` copied as from any answer.
    mutating func record(answer head: HTTPResponseHead, body: ByteBuffer) {
        captureResponseBody(head, isLongRunning: false)
        relayed(body)
        record(code: Int(head.status.code))
    }

    /// A chunk of the response body on its way to the client.
    @inline(__always)
    mutating func relayed(_ chunk: ByteBuffer) {
        if responseBody != nil { responseBody!.append(chunk) }
    }

    /// A long-running response's head went out: its first events are recorded now.
    mutating func responseStarted(code: Int) {
        guard decision.level != .none, !isRecorded else { return }
        let now = Date()
        responseStarted = now
        auditor.recordStart(record(code: code, completed: now), as: decision)
    }

    /// Records the exchange's remaining events, once: a later call does nothing. `cutShort`
    /// says why a response whose head went out did not complete (the event is then `Panic`).
    mutating func record(code: Int, cutShort: String? = nil, refusal: AuditResponseStatus? = nil) {
        guard !isRecorded else { return }
        isRecorded = true
        guard decision.level != .none else { return }
        var exchange = record(code: code, completed: Date())
        exchange.cutShort = cutShort
        exchange.refusal = refusal
        if let capture = requestBody?.takeCapture() { exchange.add(capture.outcome, as: \.requestObject) }
        if cutShort == nil, let responseBody {
            if responseBodyIsObject { exchange.add(responseBody.outcome, as: \.responseObject) }
            if readsStatus, refusal == nil { exchange.refusal = AuditResponseStatus(statusBody: responseBody.bytes) }
        }
        responseBody = nil
        auditor.record(exchange, as: decision)
    }

    /// Records an answer the proxy gave itself (a refusal, or the API server unreachable).
    mutating func record(_ refusal: ProxyRefusal) {
        record(
            code: refusal.code,
            refusal: AuditResponseStatus(
                code: refusal.code, status: "Failure", reason: refusal.reason, message: refusal.message))
    }

    private func record(code: Int, completed: Date) -> ExchangeRecord {
        let headers = AuditedHeaders(request.head.headers)
        return ExchangeRecord(
            auditID: auditID, method: request.head.method.rawValue, uri: request.head.uri, username: user?.username,
            groups: user?.groups ?? [],
            sourceIPs: SourceIPs.derive(
                forwardedFor: headers.forwardedFor, realIP: headers.realIP, peer: request.clientIP),
            userAgent: headers.userAgent.map(AuditEvent.boundedUserAgent), code: code,
            received: received, completed: completed, responseStarted: responseStarted,
            authenticationFailed: authenticationFailed)
    }
}

/// The request headers an event records, the first value of each, found in one pass over the
/// headers rather than one lookup each.
struct AuditedHeaders {
    var userAgent: String?
    var forwardedFor: String?
    var realIP: String?

    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            switch name.utf8.count {
            case 9 where realIP == nil && Self.is(name, "x-real-ip"): realIP = value
            case 10 where userAgent == nil && Self.is(name, "user-agent"): userAgent = value
            case 15 where forwardedFor == nil && Self.is(name, "x-forwarded-for"): forwardedFor = value
            default: break
            }
        }
    }

    /// `name` is `lowercase` (all ASCII, same length), ignoring ASCII case.
    private static func `is`(_ name: String, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            zip(name.utf8, expected).allSatisfy { byte, wanted in
                byte == wanted || (byte >= 0x41 && byte <= 0x5A && byte | 0x20 == wanted)
            }
        }
    }
}

extension ExchangeRecord {
    fileprivate mutating func add(_ outcome: AuditBodyCapture.Outcome, as object: WritableKeyPath<Self, RawJSON?>) {
        switch outcome {
        case .object(let json): self[keyPath: object] = json
        case .tooLarge: objectsTruncated = true
        case .notJSON: break
        }
    }
}
