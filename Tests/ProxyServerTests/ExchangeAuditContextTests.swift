import AuditBatcher
import Impersonation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import ProxyServer

/// The chain's audit step for one exchange: decided once, copying bodies only at the levels
/// that record them, recorded once.
@Suite struct ExchangeAuditContextTests {
    /// Decides a fixed level and keeps what it is asked.
    final class FixedAuditor: ExchangeAuditor {
        let level: AuditLevel
        let decisions = Mutex(0)
        let records = Mutex<[ExchangeRecord]>([])

        init(_ level: AuditLevel) { self.level = level }

        var isEnabled: Bool { true }

        func decide(method: String, uri: String, username: String?, groups: [String]) -> AuditDecision {
            decisions.withLock { $0 += 1 }
            return AuditDecision(
                config: RequestAuditConfig(level: level), requestInfo: RequestInfo(method: method, requestTarget: uri))
        }

        func record(_ exchange: ExchangeRecord, as decision: AuditDecision) {
            records.withLock { $0.append(exchange) }
        }

        func recordStart(_ exchange: ExchangeRecord, as decision: AuditDecision) {}
    }

    static func request(_ pipe: BodyPipe) -> ProxyRequest {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return ProxyRequest(
            head: HTTPRequestHead(
                version: .http1_1, method: .POST, uri: "/api/v1/namespaces/default/configmaps", headers: headers),
            body: pipe, clientIP: nil, isHTTP2: false, isUpgrade: false)
    }

    static let jsonResponse = HTTPResponseHead(
        version: .http1_1, status: .created, headers: HTTPHeaders([("Content-Type", "application/json")]))

    /// Runs one exchange through the context: body `{"a":1}` both ways.
    static func run(_ auditor: FixedAuditor) async -> (ExchangeAuditContext, BodyPipe) {
        let pipe = BodyPipe {}
        var audit = ExchangeAuditContext(auditor: auditor, request: request(pipe))
        audit.decide(for: ImpersonatedUser(username: "alice", groups: []))
        audit.captureRequestBody(pipe)
        _ = pipe.push(ByteBuffer(string: #"{"a":1}"#))
        pipe.finish()
        audit.captureResponseBody(jsonResponse, isLongRunning: false)
        audit.relayed(ByteBuffer(string: #"{"a":1}"#))
        audit.record(code: 201)
        audit.record(code: 201)
        return (audit, pipe)
    }

    @Test func atNoneNothingIsCopiedNorRecorded() async {
        let auditor = FixedAuditor(.none)
        let (_, pipe) = await Self.run(auditor)
        #expect(auditor.decisions.withLock { $0 } == 1)
        #expect(auditor.records.withLock { $0 }.isEmpty)
        #expect(pipe.takeCapture() == nil)
    }

    @Test func atMetadataNothingIsCopied() async {
        let auditor = FixedAuditor(.metadata)
        let (_, pipe) = await Self.run(auditor)
        let records = auditor.records.withLock { $0 }
        #expect(records.count == 1, "recorded once")
        #expect(records.first?.requestObject == nil && records.first?.responseObject == nil)
        #expect(pipe.takeCapture() == nil, "the pipe was never asked to copy")
    }

    @Test func atRequestResponseBothBodiesAreRecorded() async {
        let auditor = FixedAuditor(.requestResponse)
        _ = await Self.run(auditor)
        let record = auditor.records.withLock { $0 }.first
        #expect(record?.requestObject == RawJSON(trustedBytes: Array(#"{"a":1}"#.utf8)))
        #expect(record?.responseObject == RawJSON(trustedBytes: Array(#"{"a":1}"#.utf8)))
        #expect(record?.objectsTruncated == false)
    }

    @Test func withoutAPolicyNothingIsDecided() async {
        let pipe = BodyPipe {}
        var audit = ExchangeAuditContext(auditor: DiscardingAuditor(), request: Self.request(pipe))
        audit.decide(for: nil)
        #expect(audit.decision.level == .none)
        #expect(audit.auditID.isEmpty)
    }
}

@Suite("The headers an event records")
struct AuditedHeadersTests {
    @Test func theFirstValueOfEachIsFoundWhateverItsCase() {
        let headers = HTTPHeaders([
            ("Accept", "*/*"), ("USER-AGENT", "kubectl/v1.32.4"), ("X-Forwarded-For", "203.0.113.7"),
            ("x-real-ip", "198.51.100.9"), ("User-Agent", "second"), ("X-Forwarded-for", "second"),
            ("x-forwarded-fox", "no"),
        ])
        let found = AuditedHeaders(headers)
        #expect(found.userAgent == "kubectl/v1.32.4")
        #expect(found.forwardedFor == "203.0.113.7")
        #expect(found.realIP == "198.51.100.9")
        let none = AuditedHeaders(HTTPHeaders([("x-real-iq", "1.2.3.4"), ("user-agenT2", "x")]))
        #expect(none.userAgent == nil && none.forwardedFor == nil && none.realIP == nil)
    }
}
