import AuditBatcher
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import ProxyServer

/// The audit step hands each exchange's events to every backend: the log file and each shipper.
@Suite struct PolicyAuditorTests {
    final class RecordingBackend: AuditBackend {
        let name: String
        private let received = Mutex<[[UInt8]]>([])
        private let fails: Bool

        init(name: String, fails: Bool = false) {
            self.name = name
            self.fails = fails
        }

        var events: [[UInt8]] { received.withLock { $0 } }

        struct Refused: Error {}

        func accept(_ events: [[UInt8]]) throws {
            if fails { throw Refused() }
            received.withLock { $0 += events }
        }
    }

    static func exchange(uri: String, username: String? = "banyan:alice@example.com", code: Int = 200)
        -> ExchangeRecord
    {
        ExchangeRecord(
            auditID: UUID().uuidString.lowercased(), method: "GET", uri: uri, username: username,
            groups: username == nil ? [] : ["banyan:admin"], sourceIPs: ["127.0.0.1"], userAgent: "kubectl",
            code: code, received: Date(), completed: Date())
    }

    static let policy = try! AuditPolicy(
        parsing: """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
            - level: None
              nonResourceURLs: ["/healthz"]
            - level: Metadata
            """, file: "policy.yaml")

    static func decision(_ auditor: PolicyAuditor, for exchange: ExchangeRecord) -> AuditDecision {
        auditor.decide(method: exchange.method, uri: exchange.uri, username: exchange.username, groups: exchange.groups)
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// Records what it was handed: the events' structure where it came along (`accept(encoded:)`),
    /// else their bytes alone, lent from the audit step's buffer (`accept(json:)`).
    final class StructureBackend: AuditBackend {
        let name = "structure"
        let reshapesEvents: Bool
        private let received = Mutex<[(event: AuditEvent?, json: [UInt8])]>([])

        init(reshapesEvents: Bool) { self.reshapesEvents = reshapesEvents }

        var events: [(event: AuditEvent?, json: [UInt8])] { received.withLock { $0 } }

        func accept(_ events: [[UInt8]]) throws {
            Issue.record("events handed over as arrays, not lent or with their structure")
        }

        func accept(encoded events: [EncodedAuditEvent]) throws {
            received.withLock { $0 += events.map { ($0.event, $0.json) } }
        }

        func accept(json events: EncodedEvents) throws {
            received.withLock { $0 += events.map { (nil, Array($0)) } }
        }
    }

    @Test(arguments: [false, true])
    func eventsCarryTheirStructureOnlyWhenABackendReshapesThem(reshaping: Bool) throws {
        let bytesOnly = StructureBackend(reshapesEvents: false)
        let backends = reshaping ? [bytesOnly, StructureBackend(reshapesEvents: true)] : [bytesOnly]
        let auditor = PolicyAuditor(policy: Self.policy, backends: backends, logger: Self.logger)
        let exchange = Self.exchange(uri: "/api/v1/namespaces/default/pods")
        auditor.record(exchange, as: Self.decision(auditor, for: exchange))
        let events = bytesOnly.events
        #expect(events.count == 2)
        #expect(events.map { $0.event?.stage } == (reshaping ? [.requestReceived, .responseComplete] : [nil, nil]))
        // The bytes are the same either way.
        let decoded = try events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0.json)) }
        #expect(decoded.map(\.stage) == [.requestReceived, .responseComplete])
        #expect(decoded.allSatisfy { $0.auditID == exchange.auditID })
    }

    @Test func everyBackendGetsBothStagesOfEachAuditedExchange() async throws {
        let log = RecordingBackend(name: "log")
        let banyan = RecordingBackend(name: "banyan")
        let auditor = PolicyAuditor(policy: Self.policy, backends: [log, banyan], logger: Self.logger)
        let exchange = Self.exchange(uri: "/api/v1/namespaces/default/pods")
        auditor.record(exchange, as: Self.decision(auditor, for: exchange))
        #expect(log.events.count == 2)
        #expect(banyan.events == log.events)
        let stages = try log.events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0)).stage }
        #expect(stages == [.requestReceived, .responseComplete])
        let healthz = Self.exchange(uri: "/healthz")
        auditor.record(healthz, as: Self.decision(auditor, for: healthz))
        #expect(log.events.count == 2, "level None writes nothing")
    }

    @Test func aRefusedRequestIsAuditedWithItsStatus() async throws {
        let backend = RecordingBackend(name: "webhook")
        let auditor = PolicyAuditor(policy: Self.policy, backends: [backend], logger: Self.logger)
        var refused = Self.exchange(uri: "/api/v1/pods", username: nil, code: 401)
        refused.refusal = AuditResponseStatus(
            code: 401, status: "Failure", reason: "Unauthorized", message: "Unauthorized")
        auditor.record(refused, as: Self.decision(auditor, for: refused))
        let last = try JSONDecoder().decode(AuditEvent.self, from: Data(try #require(backend.events.last)))
        #expect(last.responseStatus == refused.refusal)
        // An answer from the API server carries its code only.
        let answered = Self.exchange(uri: "/api/v1/pods", code: 403)
        auditor.record(answered, as: Self.decision(auditor, for: answered))
        let forwarded = try JSONDecoder().decode(AuditEvent.self, from: Data(try #require(backend.events.last)))
        #expect(forwarded.responseStatus == AuditResponseStatus(code: 403))
    }

    /// As the API server's failed-authentication audit: one `ResponseStarted` event carrying the
    /// refusal's `Status` and no user; none when the policy omits that stage.
    @Test(arguments: [
        ("", 1), ("omitStages: [RequestReceived, ResponseComplete]", 1), ("omitStages: [ResponseStarted]", 0),
    ])
    func aRequestRefusedAtAuthenticationIsOneResponseStartedEvent(omitting omitStages: String, count: Int) throws {
        let policy = try AuditPolicy(
            parsing: """
                apiVersion: audit.k8s.io/v1
                kind: Policy
                \(omitStages)
                rules:
                - level: Metadata
                """, file: "policy.yaml")
        let backend = RecordingBackend(name: "webhook")
        let auditor = PolicyAuditor(policy: policy, backends: [backend], logger: Self.logger)
        var refused = Self.exchange(uri: "/api/v1/pods", username: nil, code: 401)
        refused.authenticationFailed = true
        refused.refusal = AuditResponseStatus(
            code: 401, status: "Failure", reason: "Unauthorized", message: "Unauthorized")
        auditor.record(refused, as: Self.decision(auditor, for: refused))
        let events = try backend.events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0)) }
        #expect(events.count == count)
        guard let event = events.first else { return }
        #expect(event.stage == .responseStarted)
        #expect(event.responseStatus == refused.refusal)
        #expect(event.user.username.isEmpty && event.user.groups.isEmpty)
        #expect(event.stageTimestamp == AuditTimestamp(refused.completed))
    }

    /// A long-running request answered all at once (a refusal, an exec the API server declined,
    /// a log read without following) still has its `ResponseStarted`, between the other two,
    /// carrying a refusal's `Status` whole.
    @Test(arguments: [
        ("/api/v1/namespaces/ns/pods/p/exec?command=ls", 403, true),
        ("/api/v1/namespaces/ns/pods/p/log", 200, false),
        ("/api/v1/namespaces/ns/services/s/proxy/", 502, true),
    ])
    func aLongRunningRequestAnsweredAtOnceStillStartsItsResponse(uri: String, code: Int, refused: Bool) throws {
        let backend = RecordingBackend(name: "webhook")
        let auditor = PolicyAuditor(policy: Self.policy, backends: [backend], logger: Self.logger)
        var exchange = Self.exchange(uri: uri, code: code)
        if refused {
            exchange.refusal = AuditResponseStatus(code: code, status: "Failure", reason: "Refused", message: "no")
        }
        auditor.record(exchange, as: Self.decision(auditor, for: exchange))
        let events = try backend.events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0)) }
        #expect(events.map(\.stage) == [.requestReceived, .responseStarted, .responseComplete])
        let expected = exchange.refusal ?? AuditResponseStatus(code: code)
        #expect(events.dropFirst().allSatisfy { $0.responseStatus == expected })
    }

    /// A named get with `watch=true` is a get to the API server: no `ResponseStarted`.
    @Test func aNamedGetWithWatchIsNotLongRunning() throws {
        let backend = RecordingBackend(name: "webhook")
        let auditor = PolicyAuditor(policy: Self.policy, backends: [backend], logger: Self.logger)
        let exchange = Self.exchange(uri: "/api/v1/namespaces/ns/pods/p?watch=true")
        auditor.record(exchange, as: Self.decision(auditor, for: exchange))
        let events = try backend.events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0)) }
        #expect(events.map(\.stage) == [.requestReceived, .responseComplete])
    }

    /// A full disk fails every exchange: one line, then at most one every 10 s with the count,
    /// not a line per request.
    @Test func aFailingBackendIsLoggedOnceNotOncePerExchange() {
        let log = CapturedLog()
        let auditor = PolicyAuditor(
            policy: Self.policy, backends: [RecordingBackend(name: "log", fails: true)], logger: log.logger())
        for _ in 0..<100 {
            let exchange = Self.exchange(uri: "/api/v1/pods")
            auditor.record(exchange, as: Self.decision(auditor, for: exchange))
        }
        let lines = log.text.split(separator: "\n")
        #expect(lines.count == 1, "\(lines.count) lines")
        #expect(lines.first?.contains("audit events not written") == true)
        #expect(lines.first?.contains("backend=log") == true)
    }

    @Test func aFailingBackendDoesNotKeepTheOthersFromTheirEvents() async {
        let broken = RecordingBackend(name: "log", fails: true)
        let banyan = RecordingBackend(name: "banyan")
        let auditor = PolicyAuditor(policy: Self.policy, backends: [broken, banyan], logger: Self.logger)
        let exchange = Self.exchange(uri: "/api/v1/pods")
        auditor.record(exchange, as: Self.decision(auditor, for: exchange))
        #expect(banyan.events.count == 2)
    }
}
