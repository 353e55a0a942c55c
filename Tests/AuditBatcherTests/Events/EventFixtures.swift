import AuditBatcher
import Foundation

/// Builders for events. Policy types are decoded from their JSON spelling so these tests do not
/// depend on how the Policy code names its enum cases or initializers.
enum EventFixtures {
    static func level(_ name: String) -> AuditLevel {
        try! JSONDecoder().decode(AuditLevel.self, from: Data("\"\(name)\"".utf8))
    }

    static func stage(_ name: String) -> AuditStage {
        try! JSONDecoder().decode(AuditStage.self, from: Data("\"\(name)\"".utf8))
    }

    static func objectReference(_ json: String) -> AuditObjectReference {
        try! JSONDecoder().decode(AuditObjectReference.self, from: Data(json.utf8))
    }

    static let received = AuditTimestamp(rfc3339: "2026-11-25T17:00:00.123456Z")!
    static let completed = AuditTimestamp(rfc3339: "2026-11-25T17:00:00.234567Z")!

    /// A `list pods` answered 200, at Metadata level.
    static func listPods(auditID: String = "3f8a7c52-1d2e-4b6f-9a0c-5e7d8f9a0b1c") -> AuditEvent {
        AuditEvent(
            level: level("Metadata"),
            auditID: auditID,
            stage: stage("ResponseComplete"),
            requestURI: "/api/v1/namespaces/default/pods?limit=500",
            verb: "list",
            user: AuditUserInfo(username: "alice@example.com", groups: ["devs", "system:authenticated"]),
            sourceIPs: ["10.0.0.1"],
            userAgent: "kubectl/v1.31.0",
            objectRef: objectReference(#"{"resource":"pods","namespace":"default","apiVersion":"v1"}"#),
            responseStatus: AuditResponseStatus(code: 200),
            requestReceivedTimestamp: received,
            stageTimestamp: completed
        )
    }

    static func json(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Parses JSON into Foundation objects, for comparing documents regardless of key order.
    static func document(_ bytes: [UInt8]) -> NSDictionary {
        try! JSONSerialization.jsonObject(with: Data(bytes)) as! NSDictionary
    }
}
