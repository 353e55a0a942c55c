import AuditBatcher
import Foundation
import Testing

@testable import ProxyServer

/// The audit step writes an exchange's events straight into JSON, without building the
/// `AuditEvent`s that a backend reshaping events is handed: both must be the same bytes, for
/// every level, stage, body and field that can be absent.
@Suite struct PolicyAuditorJSONTests {
    static let policy = try! AuditPolicy(
        parsing: """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
            - level: None
              nonResourceURLs: ["/healthz"]
            - level: RequestResponse
              resources: [{group: "", resources: ["configmaps"]}]
            - level: Request
              resources: [{group: "", resources: ["secrets"]}]
            - level: RequestResponse
              omitManagedFields: true
              resources: [{group: "", resources: ["pods"]}]
            - level: Metadata
              omitStages: ["RequestReceived"]
              resources: [{group: "apps", resources: ["deployments"]}]
            - level: Metadata
            """, file: "policy.yaml")

    /// The bytes the lent path hands a backend, and the bytes of the events the other path builds.
    static func bothWays(_ exchange: ExchangeRecord, start: Bool = false) -> (lent: [String], built: [String]) {
        let backend = PolicyAuditorTests.StructureBackend(reshapesEvents: false)
        let auditor = PolicyAuditor(policy: policy, backends: [backend], logger: PolicyAuditorTests.logger)
        let decision = PolicyAuditorTests.decision(auditor, for: exchange)
        if start { auditor.recordStart(exchange, as: decision) } else { auditor.record(exchange, as: decision) }
        #expect(backend.events.allSatisfy { $0.event == nil }, "the lent path builds no events")
        let stages: [AuditStage] =
            start
            ? [.requestReceived, .responseStarted]
            : exchange.responseStarted == nil
                ? (exchange.cutShort == nil ? [.requestReceived, .responseComplete] : [.requestReceived, .panic])
                : (exchange.cutShort == nil ? [.responseComplete] : [.panic])
        let built = auditor.events(exchange, decision, stages: stages).map { $0.event?.jsonBytes() ?? [] }
        func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
        return (backend.events.map { text($0.json) }, built.map(text))
    }

    static func json(_ text: String) -> RawJSON { RawJSON(trustedBytes: Array(text.utf8)) }

    static let withManagedFields = json(#"{"kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"k"}]}}"#)

    /// Each case changes one thing from a plain list of pods.
    static let cases: [(String, @Sendable (inout ExchangeRecord) -> Void)] = [
        ("plain", { _ in }),
        ("cluster-scoped", { $0.uri = "/api/v1/nodes/node-1" }),
        ("named, in a group", { $0.uri = "/apis/apps/v1/namespaces/ns/deployments/web/scale" }),
        ("non-resource", { $0.uri = "/version" }),
        ("level None", { $0.uri = "/healthz" }),
        (
            "no user, refused",
            { exchange in
                exchange.username = nil
                exchange.groups = []
                exchange.code = 401
                exchange.refusal = AuditResponseStatus(
                    code: 401, status: "Failure", reason: "Unauthorized", message: "token \"expired\"")
            }
        ),
        (
            "no source, no agent",
            { exchange in
                exchange.sourceIPs = []
                exchange.userAgent = nil
            }
        ),
        (
            "strings to escape",
            { exchange in
                exchange.uri = "/api/v1/namespaces/default/pods?labelSelector=app%3D\"web\"\\x"
                exchange.userAgent = "kubectl/v1.32 (linux\tamd64)\n"
                exchange.groups = ["banyan:a\"b", "banyan:ü"]
            }
        ),
        (
            "request and response bodies",
            { exchange in
                exchange.method = "POST"
                exchange.uri = "/api/v1/namespaces/default/configmaps"
                exchange.code = 201
                exchange.requestObject = json(#"{"kind":"ConfigMap"}"#)
                exchange.responseObject = json(#"{"kind":"ConfigMap","data":{"a":"b"}}"#)
            }
        ),
        (
            "request body only",
            { exchange in
                exchange.method = "PUT"
                exchange.uri = "/api/v1/namespaces/default/secrets/s"
                exchange.requestObject = json(#"{"kind":"Secret"}"#)
                exchange.responseObject = json(#"{"kind":"Secret"}"#)
            }
        ),
        (
            "managed fields omitted",
            { exchange in
                exchange.method = "PATCH"
                exchange.uri = "/api/v1/namespaces/default/pods/p"
                exchange.requestObject = withManagedFields
                exchange.responseObject = withManagedFields
            }
        ),
        (
            "bodies over the bound",
            { exchange in
                exchange.method = "POST"
                exchange.uri = "/api/v1/namespaces/default/configmaps"
                exchange.objectsTruncated = true
            }
        ),
        ("RequestReceived omitted", { $0.uri = "/apis/apps/v1/namespaces/ns/deployments" }),
        (
            "cut short",
            { exchange in
                exchange.uri = "/api/v1/namespaces/default/configmaps"
                exchange.responseObject = json(#"{"kind":"ConfigMapList"}"#)
                exchange.cutShort = "upstream connection reset"
            }
        ),
        (
            "long-running, ended",
            { exchange in
                exchange.uri = "/api/v1/namespaces/default/pods?watch=true"
                exchange.responseStarted = exchange.received.addingTimeInterval(0.002)
                exchange.completed = exchange.received.addingTimeInterval(30)
            }
        ),
        (
            "long-running, cut short",
            { exchange in
                exchange.uri = "/api/v1/namespaces/default/pods?watch=true"
                exchange.responseStarted = exchange.received.addingTimeInterval(0.002)
                exchange.cutShort = "upstream went away"
            }
        ),
    ]

    @Test(arguments: cases.indices)
    func theLentBytesAreTheEventsOwn(index: Int) {
        let (name, change) = Self.cases[index]
        var exchange = PolicyAuditorTests.exchange(uri: "/api/v1/namespaces/default/pods")
        exchange.completed = exchange.received.addingTimeInterval(0.0123456)
        change(&exchange)
        let (lent, built) = Self.bothWays(exchange)
        #expect(lent == built, "\(name)")
        let expected =
            switch name {
            case "level None": 0
            case "RequestReceived omitted", "long-running, ended", "long-running, cut short": 1
            default: 2
            }
        #expect(lent.count == expected, "\(name)")
    }

    @Test func aLongRunningExchangesFirstStagesToo() {
        var exchange = PolicyAuditorTests.exchange(uri: "/api/v1/namespaces/default/pods?watch=true")
        exchange.responseStarted = exchange.received.addingTimeInterval(0.002)
        let (lent, built) = Self.bothWays(exchange, start: true)
        #expect(lent == built)
        #expect(lent.count == 2)
    }
}
