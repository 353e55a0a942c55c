import AuditBatcher
import Foundation
import Testing

@testable import ProxyServer

/// What the events carry beyond metadata: bodies at the higher levels, the truncation
/// annotation, and `Panic` for a response cut short.
@Suite struct PolicyAuditorObjectTests {
    static let policy = try! AuditPolicy(
        parsing: """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
            - level: RequestResponse
              resources: [{group: "", resources: ["configmaps"]}]
            - level: Request
              resources: [{group: "", resources: ["secrets"]}]
            - level: RequestResponse
              omitStages: ["Panic"]
              resources: [{group: "", resources: ["services"]}]
            - level: RequestResponse
              omitManagedFields: true
              resources: [{group: "", resources: ["pods"]}]
            - level: Metadata
            """, file: "policy.yaml")

    static let auditor = PolicyAuditor(policy: policy, backends: [], logger: PolicyAuditorTests.logger)

    static func json(_ text: String) -> RawJSON { RawJSON(trustedBytes: Array(text.utf8)) }

    static func exchange(
        _ resource: String, method: String = "POST", requestObject: RawJSON? = json(#"{"kind":"In"}"#),
        responseObject: RawJSON? = json(#"{"kind":"Out"}"#)
    ) -> ExchangeRecord {
        var exchange = PolicyAuditorTests.exchange(uri: "/api/v1/namespaces/default/\(resource)")
        exchange.method = method
        exchange.code = 201
        exchange.requestObject = requestObject
        exchange.responseObject = responseObject
        return exchange
    }

    static func events(_ exchange: ExchangeRecord, stages: [AuditStage] = [.requestReceived, .responseComplete])
        -> [AuditEvent]
    {
        let decision = PolicyAuditorTests.decision(auditor, for: exchange)
        return auditor.events(exchange, decision, stages: stages).compactMap(\.event)
    }

    static func text(_ exchange: ExchangeRecord, stages: [AuditStage]) -> [String] {
        let decision = PolicyAuditorTests.decision(auditor, for: exchange)
        return auditor.events(exchange, decision, stages: stages).map { String(decoding: $0.json, as: UTF8.self) }
    }

    @Test func atRequestResponseBothBodiesGoInTheLastEventOnly() {
        let events = Self.events(Self.exchange("configmaps"))
        #expect(events.map(\.level) == [.requestResponse, .requestResponse])
        #expect(
            events[0].requestObject == nil && events[0].responseObject == nil, "RequestReceived precedes the bodies")
        #expect(events[1].requestObject == Self.json(#"{"kind":"In"}"#))
        #expect(events[1].responseObject == Self.json(#"{"kind":"Out"}"#))
        #expect(
            Self.text(Self.exchange("configmaps"), stages: [.responseComplete])[0].contains(
                #""requestObject":{"kind":"In"},"responseObject":{"kind":"Out"},"#))
    }

    @Test func atRequestOnlyTheRequestBody() {
        let last = Self.events(Self.exchange("secrets")).last
        #expect(last?.requestObject == Self.json(#"{"kind":"In"}"#))
        #expect(last?.responseObject == nil)
    }

    @Test func atMetadataNoBody() {
        let last = Self.events(Self.exchange("nodes")).last
        #expect(last?.level == .metadata)
        #expect(last?.requestObject == nil && last?.responseObject == nil)
    }

    @Test func aBodyOverTheBoundIsAnnotatedOnTheLastEvent() {
        var exchange = Self.exchange("configmaps", requestObject: nil)
        exchange.objectsTruncated = true
        let events = Self.events(exchange)
        #expect(events[0].annotations.isEmpty)
        #expect(events[1].annotations == ["audit.k8s.io/truncated": "true"])
        #expect(events[1].responseObject != nil, "the other body is kept")
        #expect(
            Self.text(exchange, stages: [.responseComplete])[0].hasSuffix(
                #","annotations":{"audit.k8s.io/truncated":"true"}}"#))
    }

    @Test func aResponseCutShortEndsInPanicWithTheAPIServersStatus() async throws {
        var exchange = Self.exchange("configmaps")
        exchange.cutShort = "the response was cut short after it started: the API server closed the connection"
        let decision = PolicyAuditorTests.decision(Self.auditor, for: exchange)
        let backend = PolicyAuditorTests.RecordingBackend(name: "log")
        PolicyAuditor(policy: Self.policy, backends: [backend], logger: PolicyAuditorTests.logger).record(
            exchange, as: decision)
        let events = try backend.events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0)) }
        #expect(events.map(\.stage) == [.requestReceived, .panic])
        let panic = try #require(events.last)
        #expect(
            panic.responseStatus
                == AuditResponseStatus(
                    code: 500, status: "Failure", reason: "InternalError", message: exchange.cutShort))
        #expect(panic.responseObject == nil, "a response cut short is no object")
        #expect(panic.requestObject != nil)
        let text = String(decoding: try #require(backend.events.last), as: UTF8.self)
        #expect(
            text.contains(
                #""responseStatus":{"metadata":{},"status":"Failure","message":"the response was cut short after it started: the API server closed the connection","reason":"InternalError","code":500}"#
            ), "\(text)")
    }

    @Test func omitStagesPanicLeavesOnlyRequestReceived() async throws {
        var exchange = Self.exchange("services")
        exchange.cutShort = "cut"
        let backend = PolicyAuditorTests.RecordingBackend(name: "log")
        let auditor = PolicyAuditor(policy: Self.policy, backends: [backend], logger: PolicyAuditorTests.logger)
        auditor.record(exchange, as: PolicyAuditorTests.decision(auditor, for: exchange))
        let stages = try backend.events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0)).stage }
        #expect(stages == [.requestReceived])
        exchange.cutShort = nil
        auditor.record(exchange, as: PolicyAuditorTests.decision(auditor, for: exchange))
        #expect(backend.events.count == 3, "ResponseComplete is not omitted")
    }

    @Test func aLongRunningExchangeEndsWithOnlyItsLastStage() async throws {
        var exchange = Self.exchange("configmaps", method: "GET")
        exchange.uri += "?watch=true"
        exchange.responseStarted = Date()
        exchange.cutShort = "cut"
        let backend = PolicyAuditorTests.RecordingBackend(name: "log")
        let auditor = PolicyAuditor(policy: Self.policy, backends: [backend], logger: PolicyAuditorTests.logger)
        auditor.record(exchange, as: PolicyAuditorTests.decision(auditor, for: exchange))
        let stages = try backend.events.map { try JSONDecoder().decode(AuditEvent.self, from: Data($0)).stage }
        #expect(stages == [.panic])
    }

    @Test func theDecisionsRequestInfoIsReusedNotDerivedAgain() {
        let exchange = Self.exchange("configmaps", method: "GET")
        let decision = Self.auditor.decide(
            method: "DELETE", uri: "/api/v1/namespaces/default/configmaps/x", username: "alice", groups: [])
        let events = Self.auditor.events(exchange, decision, stages: [.responseComplete]).compactMap(\.event)
        #expect(events.first?.verb == "delete")
        #expect(events.first?.objectRef?.name == "x")
    }

    @Test func omitManagedFieldsStripsThemFromTheBodies() {
        let withFields = Self.json(
            #"{"kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"kubectl"}]}}"#)
        let list = Self.json(
            #"{"kind":"PodList","items":[{"metadata":{"name":"a","managedFields":[{"manager":"x"}]}}]}"#)
        let last = Self.events(Self.exchange("pods", requestObject: withFields, responseObject: list)).last
        #expect(last?.requestObject == Self.json(#"{"kind":"Pod","metadata":{"name":"p"}}"#))
        #expect(last?.responseObject == Self.json(#"{"items":[{"metadata":{"name":"a"}}],"kind":"PodList"}"#))
        let kept = Self.events(Self.exchange("configmaps", requestObject: withFields)).last
        #expect(kept?.requestObject == withFields, "only where the policy says so")
    }
}
