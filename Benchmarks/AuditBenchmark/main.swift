import AuditBatcher
import Foundation

// Prints the cost of auditing one request: policy evaluation, request-info derivation, event
// JSON, and the durable spool's append (with and without an fsync per batch of 100).
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
        try measure("spool append (write-through)", iterations: 200_000) { _ in try spool.append(payload) }
        let synced = try BatchSpool(.init(directory: directory + "-sync", maxBytes: 1 << 30))
        defer { try? FileManager.default.removeItem(atPath: directory + "-sync") }
        try measure("spool append + fsync every 100", iterations: 20_000) { index in
            try synced.append(payload)
            if index % 100 == 99 { try synced.sync() }
        }
        try measure("spool read back 400 + acknowledge", iterations: 200) { _ in
            let batch = try spool.unacknowledged(limit: 400)
            if let last = batch.last { try spool.acknowledge(through: last.sequence) }
        }
    }
}

try AuditBenchmark.run()
