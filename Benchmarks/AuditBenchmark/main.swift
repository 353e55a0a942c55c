import AuditBatcher
import AuditShipping
import CompressNIO
import Foundation
import Logging
import NIOCore
import Prometheus
import ProxyServer
import Synchronization

// Prints the cost of auditing one request: policy evaluation, request-info derivation, event
// JSON, and the durable spool's append (with and without an fsync per batch of 100); then the
// shipper: `accept` as the request path calls it (lock + append), and the events per second
// the spool and shipper sustain into a sink that answers at once.
// Run: swift run -c release AuditBenchmark

enum AuditBenchmark {
    static func measure(_ name: String, iterations: Int, _ body: (Int) throws -> Void) rethrows {
        for index in 0..<min(iterations, 1000) { try body(index) }
        let elapsed = try ContinuousClock().measure {
            for index in 0..<iterations { try body(index) }
        }
        let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        let perOp = micros / Double(iterations)
        let padded = name.padding(toLength: 46, withPad: " ", startingAt: 0)
        print(padded + String(format: "%9.3f µs/op  %12.0f ops/s", perOp, 1e6 / perOp))
    }

    static func run() throws {
        let policy = try AuditPolicy(
            parsing: """
                apiVersion: audit.k8s.io/v1
                kind: Policy
                omitStages: [RequestReceived]
                rules:
                - level: None
                  nonResourceURLs: ["/healthz*", "/version"]
                - level: Metadata
                """, file: "policy.yaml")
        measure("request info (GET namespaced pods)", iterations: 200_000) { _ in
            _ = RequestInfo(method: "GET", requestTarget: "/api/v1/namespaces/default/pods?limit=500")
        }
        let info = RequestInfo(method: "GET", requestTarget: "/api/v1/namespaces/default/pods?limit=500")
        measure("policy evaluation (2 rules)", iterations: 200_000) { _ in
            _ = policy.evaluate(info, username: "banyan:alice@example.com", groups: ["banyan:admin"])
        }
        let now = AuditTimestamp(Date())
        let event = AuditEvent(
            level: .metadata, auditID: UUID().uuidString, stage: .responseComplete,
            requestURI: "/api/v1/namespaces/default/pods?limit=500", verb: "list",
            user: AuditUserInfo(
                username: "banyan:alice@example.com", groups: ["banyan:admin", "system:authenticated"]),
            sourceIPs: ["10.0.0.7"], userAgent: "kubectl/v1.32.4", objectRef: info.objectReference,
            responseStatus: AuditResponseStatus(code: 200), requestReceivedTimestamp: now, stageTimestamp: now)
        measure("event JSON (Metadata level)", iterations: 200_000) { _ in _ = event.jsonBytes() }
        let payload = event.jsonBytes()
        print("event size: \(payload.count) bytes")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try BatchSpool(.init(directory: directory, maxBytes: 1 << 30))
        try measure("spool append (into the mapped segment)", iterations: 200_000) { _ in try spool.append(payload) }
        let synced = try BatchSpool(.init(directory: directory + "-sync", maxBytes: 1 << 30))
        defer { try? FileManager.default.removeItem(atPath: directory + "-sync") }
        try measure("spool append + fsync every 100", iterations: 20_000) { index in
            try synced.append(payload)
            if index % 100 == 99 { try synced.sync() }
        }
        try measure("spool read back 400 from files + acknowledge", iterations: 200) { _ in
            let batch = try spool.unacknowledged(limit: 400)
            if let last = batch.last { try spool.acknowledge(through: last.sequence) }
        }
    }

    /// Takes events and writes nothing: the cost of the audit step itself.
    struct DiscardingBackend: AuditBackend {
        let name = "discard"
        func accept(_ events: [[UInt8]]) throws {}
        func accept(json events: EncodedEvents) throws {}
    }

    /// One exchange's whole audit step, as the chain runs it for a `GET` list at `Metadata`: the
    /// audit ID and timestamps, the decision, both events built and encoded, handed to a backend
    /// that discards them, or written to an audit log file (configmap.yaml's policy).
    static func runExchange() async throws {
        let policy = try AuditPolicy(
            parsing: """
                apiVersion: audit.k8s.io/v1
                kind: Policy
                rules:
                - level: Metadata
                """, file: "configmap.yaml")
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("exchange-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try AuditLogFile(path: directory + "/audit.log")
        for (name, backend) in [("discarded", DiscardingBackend() as any AuditBackend), ("to a log file", log)] {
            let auditor = PolicyAuditor(policy: policy, backends: [backend], logger: logger)
            let iterations = 100_000
            let started = ContinuousClock.now
            for _ in 0..<iterations {
                let received = Date()
                let decision = auditor.decide(
                    method: "GET", uri: "/api/v1/namespaces/default/pods?limit=500",
                    username: "banyan:alice@example.com", groups: ["banyan:admin", "banyan:dev"])
                let exchange = ExchangeRecord(
                    auditID: AuditID.random(), method: "GET", uri: "/api/v1/namespaces/default/pods?limit=500",
                    username: "banyan:alice@example.com", groups: ["banyan:admin", "banyan:dev"],
                    sourceIPs: ["10.0.0.7"], userAgent: "kubectl/v1.32.4", code: 200, received: received,
                    completed: Date())
                auditor.record(exchange, as: decision)
            }
            report("audit step per exchange, events \(name)", ContinuousClock.now - started, operations: iterations)
        }
    }

    /// What a batch of 400 events costs on its way out: the EventList body, then gzip.
    static func runBatchBody() throws {
        let events = (0..<400).map { _ in sampleEvent() }
        var body: [UInt8] = []
        measure("EventList body of 400 events", iterations: 2_000) { _ in
            body = AuditEventList.jsonBody(encodedEvents: events)
        }
        for level in [
            ZlibConfiguration.CompressionLevel.defaultCompressionLevel, .compressionLevel2, .fastestCompression,
        ] {
            var size = 0
            try measure("gzip 400-event body (level \(level.rawValue))", iterations: 200) { _ in
                var buffer = ByteBuffer(bytes: body)
                size = try buffer.compress(with: .gzip(configuration: .init(compressionLevel: level))).readableBytes
            }
            print("  \(body.count) -> \(size) bytes")
        }
    }

    /// Acknowledges every batch at once.
    final class InstantSink: AuditSink {
        let backend = "bench"
        let bytes = Mutex(0)

        func send(_ body: [UInt8]) async -> SinkAnswer {
            bytes.withLock { $0 += body.count }
            return .delivered
        }
        func refreshCredentials() async -> CredentialRefresh { .refreshed }
        func shutdown() async {}
    }

    static func runShipper() async throws {
        let payload = sampleEvent()
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ship-bench-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sink = InstantSink()
        let shipper = try AuditShipper(
            sink: sink,
            configuration: .init(
                batching: BatchingConfiguration(maxBatchSize: 400, maxBatchWait: .seconds(1), throttle: nil),
                spoolDirectory: directory, spoolMaxBytes: 1 << 30),
            metrics: AuditMetrics(registry: PrometheusCollectorRegistry()).backend("bench"), logger: logger)
        // Appends alone: a second shipper whose driver is not running.
        let idle = try AuditShipper(
            sink: InstantSink(),
            configuration: .init(
                batching: BatchingConfiguration(maxBatchSize: 400, maxBatchWait: .seconds(1), throttle: nil),
                spoolDirectory: directory + "-idle", spoolMaxBytes: 1 << 30),
            metrics: AuditMetrics(registry: PrometheusCollectorRegistry()).backend("idle"), logger: logger)
        defer { try? FileManager.default.removeItem(atPath: directory + "-idle") }
        let appendsOnly = ContinuousClock.now
        for _ in 0..<10_000 { try idle.accept([payload, payload]) }
        report("shipper accept (2 events, driver idle)", ContinuousClock.now - appendsOnly, operations: 10_000)

        let driver = Task { try await shipper.run() }

        // One request's two events, as PolicyAuditor hands them over, from one task at a time.
        let pairs = 50_000
        let started = ContinuousClock.now
        for _ in 0..<pairs { try shipper.accept([payload, payload]) }
        let appended = ContinuousClock.now - started
        while shipper.unacknowledgedCount > 0 {
            try await Task.sleep(for: .milliseconds(1))
        }
        let drained = ContinuousClock.now - started
        report("shipper accept (2 events, one task)", appended, operations: pairs)
        print(
            "shipper: \(pairs * 2) events spooled and delivered in "
                + String(format: "%.2f s = %.0f events/s", seconds(drained), Double(pairs * 2) / seconds(drained)))

        // Many request tasks at once, as under load: appends contend for the actor.
        let concurrent = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<(pairs / 8) { try shipper.accept([payload, payload]) } }
            }
            try await group.waitForAll()
        }
        report("shipper accept (2 events, 8 tasks at once)", ContinuousClock.now - concurrent, operations: pairs)
        driver.cancel()
        _ = await driver.result
    }

    static func sampleEvent() -> [UInt8] {
        let now = AuditTimestamp(Date())
        return AuditEvent(
            level: .metadata, auditID: UUID().uuidString, stage: .responseComplete,
            requestURI: "/api/v1/namespaces/default/pods?limit=500", verb: "list",
            user: AuditUserInfo(
                username: "banyan:alice@example.com", groups: ["banyan:admin", "system:authenticated"]),
            sourceIPs: ["10.0.0.7"], userAgent: "kubectl/v1.32.4", responseStatus: AuditResponseStatus(code: 200),
            requestReceivedTimestamp: now, stageTimestamp: now
        ).jsonBytes()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    static func report(_ name: String, _ elapsed: Duration, operations: Int) {
        let perOp = seconds(elapsed) * 1e6 / Double(operations)
        let padded = name.padding(toLength: 46, withPad: " ", startingAt: 0)
        print(padded + String(format: "%9.3f µs/op  %12.0f ops/s", perOp, 1e6 / perOp))
    }
}

try AuditBenchmark.run()
try await AuditBenchmark.runExchange()
try AuditBenchmark.runBatchBody()
try await AuditBenchmark.runShipper()
