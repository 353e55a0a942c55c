import AuditBatcher
import Foundation
import Prometheus
import TestSupport
import Testing

@testable import AuditShipping

/// `--audit-webhook-truncate-enabled`: what a batching sink receives of events and batches
/// over the API server's limits.
@Suite final class AuditShipperTruncationTests: Sendable {
    /// The spools a test opens, removed when it ends.
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("shipper")
    }

    deinit {
        scratch.remove()
    }

    func start(
        truncation: AuditTruncation?, maxBatchSize: Int = 400, log: CapturedLog = CapturedLog(),
        sink: FakeSink = FakeSink()
    ) throws -> AuditShipperTests.Running {
        let clock = ManualClock()
        let registry = PrometheusCollectorRegistry()
        let metrics = AuditMetrics(registry: registry)
        let shipper = try AuditShipper(
            sink: sink,
            configuration: .init(
                batching: Fixtures.batching(maxBatchSize: maxBatchSize),
                spoolDirectory: scratch.file(UUID().uuidString),
                truncation: truncation),
            metrics: metrics.backend(sink.backend), clock: clock, logger: log.logger())
        let task = Task { try await shipper.run() }
        return .init(shipper: shipper, sink: sink, clock: clock, registry: registry, metrics: metrics, task: task)
    }

    /// A `RequestResponse` event whose response body is `size` bytes of JSON string.
    static func event(_ auditID: String, responseBytes size: Int, userAgent: String = "kubectl") -> EncodedAuditEvent {
        let now = AuditTimestamp(Date())
        return EncodedAuditEvent(
            AuditEvent(
                level: .requestResponse, auditID: auditID, stage: .responseComplete,
                requestURI: "/api/v1/namespaces/default/configmaps", verb: "create",
                user: AuditUserInfo(username: "banyan:alice@example.com"), userAgent: userAgent,
                responseStatus: AuditResponseStatus(code: 201),
                requestObject: RawJSON(trustedBytes: Array(#"{"kind":"ConfigMap"}"#.utf8)),
                responseObject: RawJSON(trustedBytes: Array(("\"" + String(repeating: "x", count: size) + "\"").utf8)),
                requestReceivedTimestamp: now, stageTimestamp: now))
    }

    @Test func aBigEventArrivesTruncatedAndASmallOneWhole() async throws {
        let running = try start(truncation: AuditTruncation(), maxBatchSize: 2)
        let big = Self.event("big", responseBytes: 200 * 1024)
        let small = Self.event("small", responseBytes: 1024)
        try running.shipper.accept(encoded: [big, small])
        #expect(try await eventually { running.sink.bodies.count == 1 })
        let events = try running.sink.events()
        #expect(events.map(\.auditID) == ["big", "small"])
        #expect(events[0].requestObject == nil && events[0].responseObject == nil)
        #expect(events[0].annotations == ["audit.k8s.io/truncated": "true"])
        #expect(events[1].annotations.isEmpty)
        let body = String(decoding: running.sink.bodies[0], as: UTF8.self)
        #expect(body.contains(try Self.listItem(small.json)), "the small event arrives byte for byte")
        #expect(body.count < 100 * 1024)
        await running.stop()
    }

    /// An event exactly at the limit is over it, as upstream counts (its encoder's newline adds a
    /// byte): the shipper's check let it through whole, while the accept path had said it was over.
    @Test func anEventExactlyAtTheLimitIsTruncated() async throws {
        let probe = Self.event("edge", responseBytes: 1000)
        let running = try start(truncation: AuditTruncation(maxEventSize: probe.json.count), maxBatchSize: 1)
        try running.shipper.accept(encoded: [probe])
        #expect(try await eventually { running.sink.bodies.count == 1 })
        let events = try running.sink.events()
        #expect(events.first?.responseObject == nil)
        #expect(events.first?.annotations == ["audit.k8s.io/truncated": "true"])
        await running.stop()
    }

    @Test func withoutTheFlagABigEventArrivesWhole() async throws {
        let running = try start(truncation: nil, maxBatchSize: 1)
        let big = Self.event("big", responseBytes: 200 * 1024)
        try running.shipper.accept(encoded: [big])
        #expect(try await eventually { running.sink.bodies.count == 1 })
        #expect(String(decoding: running.sink.bodies[0], as: UTF8.self).contains(try Self.listItem(big.json)))
        await running.stop()
    }

    /// A standalone event as an item of a batch: the same bytes without its `kind` and `apiVersion`.
    static func listItem(_ json: [UInt8]) throws -> String {
        let standalone = String(decoding: json, as: UTF8.self)
        let header = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","#
        try #require(standalone.hasPrefix(header))
        return "{" + standalone.dropFirst(header.count)
    }

    @Test func eventsHandedOverAsBytesAreTruncatedToo() async throws {
        let running = try start(truncation: AuditTruncation(), maxBatchSize: 1)
        try running.shipper.accept([Self.event("big", responseBytes: 200 * 1024).json])
        #expect(try await eventually { running.sink.bodies.count == 1 })
        let event = try #require(try running.sink.events().first)
        #expect(event.responseObject == nil)
        #expect(event.annotations == ["audit.k8s.io/truncated": "true"])
        await running.stop()
    }

    @Test func anEventTooLargeEvenWithoutObjectsIsDroppedCountedAndLoggedOnce() async throws {
        let log = CapturedLog()
        let running = try start(truncation: AuditTruncation(maxEventSize: 4096), maxBatchSize: 1, log: log)
        let huge = String(repeating: "u", count: 8192)
        try running.shipper.accept(encoded: [
            Self.event("huge-1", responseBytes: 10, userAgent: huge), Self.event("kept", responseBytes: 10),
        ])
        try running.shipper.accept(encoded: [Self.event("huge-2", responseBytes: 10, userAgent: huge)])
        #expect(try await eventually { running.sink.bodies.count == 1 })
        #expect(try running.sink.events().map(\.auditID) == ["kept"])
        let text = running.registry.text
        #expect(text.contains(#"kube_oidc_proxy_audit_events_total{result="dropped",backend="fake"} 2"#), "\(text)")
        #expect(text.contains(#"kube_oidc_proxy_audit_events_total{result="accepted",backend="fake"} 1"#), "\(text)")
        let lines = log.text.split(separator: "\n").filter { $0.contains("over the size limit") }
        #expect(lines.count == 1, "one line per interval: \(log.text)")
        await running.stop()
    }

    @Test func aBatchOverTheBatchLimitGoesInParts() async throws {
        let one = Self.event("a", responseBytes: 1000).json.count
        let running = try start(
            truncation: AuditTruncation(maxEventSize: 100 * 1024, maxBatchSize: 2 * one + 10), maxBatchSize: 3)
        try running.shipper.accept(encoded: ["a", "b", "c"].map { Self.event($0, responseBytes: 1000) })
        #expect(try await eventually { running.sink.bodies.count == 2 })
        #expect(try running.sink.events().map(\.auditID) == ["a", "b", "c"])
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        await running.stop()
    }

    /// A part refused after earlier parts were taken: those are not sent again, and when the
    /// refused part is dropped (five 4xx answers) only it and what followed it count as dropped.
    @Test func partsDeliveredBeforeARefusedPartAreNeitherResentNorDropped() async throws {
        let one = Self.event("a", responseBytes: 1000).json.count
        let refused = SinkAnswer.failed(.rejected(statusCode: 400), detail: "HTTP 400: bad part")
        let sink = FakeSink(answers: [.delivered] + Array(repeating: refused, count: 5))
        let running = try start(
            truncation: AuditTruncation(maxEventSize: 100 * 1024, maxBatchSize: one + 10), maxBatchSize: 3, sink: sink)
        try running.shipper.accept(encoded: ["a", "b", "c"].map { Self.event($0, responseBytes: 1000) })
        #expect(try await eventually { sink.bodies.count == 2 })
        #expect(running.shipper.unacknowledgedCount == 2, "a was taken")
        for attempt in 3...6 {
            try await running.settle()
            running.clock.advance(by: .seconds(600))
            #expect(try await eventually { sink.bodies.count == attempt })
        }
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        #expect(try sink.events().map(\.auditID) == ["a"] + Array(repeating: "b", count: 5))
        running.metrics.refresh()
        let text = running.registry.text
        #expect(text.contains(#"kube_oidc_proxy_audit_events_total{result="dropped",backend="fake"} 2"#), "\(text)")
        #expect(text.contains(#"kube_oidc_proxy_audit_events_total{result="sent",backend="fake"} 1"#), "\(text)")
        await running.stop()
    }
}
