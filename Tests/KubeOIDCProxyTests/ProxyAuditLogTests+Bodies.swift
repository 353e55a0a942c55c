import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// Bodies at the higher audit levels, `Panic` for a response cut short, and events written
/// before the client sees its response complete: the proxy binary, real TLS, the audit log.
extension ProxyAuditLogTests {
    /// A proxy auditing to a log file under `policy` (rules only).
    static func withProxy(rules: String, _ body: (ProxyFixture, AuditLog) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let policy = try directory.write(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n" + rules, to: "policy.yaml")
        let log = AuditLog(path: directory.file("audit.log"))
        try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log.path)"]) { proxy in
            try await body(proxy, log)
        }
    }

    struct AuditLog {
        let path: String

        /// Every event written so far, read once, now.
        func events() throws -> [[String: Any]] {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return try text.split(separator: "\n").map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }

        func events(_ auditID: String) throws -> [[String: Any]] {
            try events().filter { $0["auditID"] as? String == auditID }
        }

        /// The exchange's last event, as written by now.
        func last(_ auditID: String) throws -> [String: Any] {
            try #require(try events(auditID).last, "no event for \(auditID) in the log yet")
        }
    }

    /// Compares JSON values whatever their key order and spacing.
    static func canonical(_ value: Any?) throws -> String? {
        guard let value else { return nil }
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    static func canonical(json text: String) throws -> String? {
        try canonical(JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed))
    }

    static let configMap = """
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "team"},
         "data": {"mode": "strict"}}
        """

    static func send(
        _ proxy: ProxyFixture, _ path: String, method: HTTPMethod = .POST, body: String = configMap,
        contentType: String = "application/json", extraHeaders: [(String, String)] = [],
        client: TestClient? = nil
    ) async throws -> TestClient.Response {
        try await (client ?? proxy.client).request(
            proxy.url + path, method: method,
            headers: [("Authorization", "Bearer \(proxy.token())"), ("Content-Type", contentType)] + extraHeaders,
            body: Array(body.utf8))
    }

    @Test func atRequestLevelTheEventHasTheRequestBodyAndNoResponseBody() async throws {
        try await Self.withProxy(rules: "- level: Request\n") { proxy, log in
            let created = try await Self.send(proxy, "/api/v1/namespaces/team/configmaps")
            #expect(created.status == 201)
            let event = try log.last(try #require(created.header("Audit-Id")))
            #expect(event["stage"] as? String == "ResponseComplete")
            #expect(event["level"] as? String == "Request")
            #expect(try Self.canonical(event["requestObject"]) == Self.canonical(json: Self.configMap))
            #expect(event["responseObject"] == nil)

            let patch = #"{"data":{"mode":"relaxed"}}"#
            let patched = try await Self.send(
                proxy, "/api/v1/namespaces/team/configmaps/settings", method: .PATCH, body: patch,
                contentType: "application/merge-patch+json")
            #expect(patched.status == 200)
            let patchEvent = try log.last(try #require(patched.header("Audit-Id")))
            #expect(patchEvent["verb"] as? String == "patch")
            #expect(try Self.canonical(patchEvent["requestObject"]) == Self.canonical(json: patch))
            let received = try log.events(try #require(patched.header("Audit-Id"))).first
            #expect(received?["stage"] as? String == "RequestReceived")
            #expect(received?["requestObject"] == nil, "RequestReceived precedes the body")

            // Past the 1 MiB bound the body is not kept, and the event says so.
            let large = #"{"kind":"ConfigMap","data":{"blob":"\#(String(repeating: "x", count: 1 << 20))"}}"#
            let tooLarge = try await Self.send(proxy, "/api/v1/namespaces/team/configmaps", body: large)
            #expect(tooLarge.status == 201)
            let truncated = try log.last(try #require(tooLarge.header("Audit-Id")))
            #expect(truncated["requestObject"] == nil)
            #expect(truncated["annotations"] as? [String: String] == ["audit.k8s.io/truncated": "true"])
        }
    }

    @Test func atRequestResponseTheEventHasBothBodiesButOnlyForJSON() async throws {
        try await Self.withProxy(rules: "- level: RequestResponse\n") { proxy, log in
            let created = try await Self.send(proxy, "/api/v1/namespaces/team/configmaps")
            let event = try log.last(try #require(created.header("Audit-Id")))
            #expect(try Self.canonical(event["requestObject"]) == Self.canonical(json: Self.configMap))
            #expect(try Self.canonical(event["responseObject"]) == Self.canonical(json: Self.configMap))

            // JSON bytes all of them, labelled as what the proxy must not read as JSON.
            let notJSON: [(String, [(String, String)])] = [
                ("application/vnd.kubernetes.protobuf", []),
                ("application/apply-patch+yaml", []),
                ("application/json", [("Content-Encoding", "gzip")]),
            ]
            for (contentType, extra) in notJSON {
                let response = try await Self.send(
                    proxy, "/api/v1/namespaces/team/configmaps/settings", method: .PATCH, contentType: contentType,
                    extraHeaders: extra)
                #expect(response.status == 200)
                let event = try log.last(try #require(response.header("Audit-Id")))
                #expect(event["requestObject"] == nil, "\(contentType) \(extra)")
                #expect(event["responseObject"] == nil, "\(contentType) \(extra)")
            }

            // Not a resource: no object either.
            let echoed = try await Self.send(proxy, "/echo")
            #expect(try log.last(try #require(echoed.header("Audit-Id")))["requestObject"] == nil)
        }
    }

    @Test func atMetadataTheEventHasNoBody() async throws {
        try await Self.withProxy(rules: "- level: Metadata\n") { proxy, log in
            let created = try await Self.send(proxy, "/api/v1/namespaces/team/configmaps")
            let event = try log.last(try #require(created.header("Audit-Id")))
            #expect(event["level"] as? String == "Metadata")
            #expect(event["requestObject"] == nil && event["responseObject"] == nil)
        }
    }

    @Test func anAPIServerDyingMidBodyEndsInAPanicEvent() async throws {
        try await Self.withProxy(rules: "- level: RequestResponse\n") { proxy, log in
            let uri = "/api/v1/namespaces/team/configmaps/broken"
            await #expect(throws: (any Error).self) {
                _ = try await Self.send(proxy, uri, method: .GET, body: "")
            }
            // Recorded before the proxy cut the client's response short: there already.
            let events = try log.events().filter { $0["requestURI"] as? String == uri }
            #expect(events.map { $0["stage"] as? String } == ["RequestReceived", "Panic"])
            let status = try #require(events.last?["responseStatus"] as? [String: Any])
            #expect(status["code"] as? Int == 500)
            #expect(status["status"] as? String == "Failure")
            #expect(status["reason"] as? String == "InternalError")
            let message = try #require(status["message"] as? String)
            #expect(message.contains("cut short"), "\(message)")
            #expect(!message.contains(proxy.token()) && !message.contains(ProxyFixture.proxyToken))
            #expect(events.last?["responseObject"] == nil)
        }
    }

    @Test func aClientLeavingAWatchEndsInResponseCompleteNotPanic() async throws {
        try await Self.withProxy(rules: "- level: Metadata\n") { proxy, log in
            let client = try TestClient(caFile: proxy.certificateFile)
            let watch = try await client.open(
                proxy.url + "/api/v1/namespaces/default/pods?watch=true",
                headers: [("Authorization", "Bearer \(proxy.token())")])
            let auditID = try #require(watch.header("Audit-Id"))
            func stages() throws -> [String] { try log.events(auditID).compactMap { $0["stage"] as? String } }
            for _ in 0..<500 where try stages().count < 2 { try await Task.sleep(for: .milliseconds(10)) }
            try await client.shutdown()
            for _ in 0..<500 where try stages().count < 3 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try stages() == ["RequestReceived", "ResponseStarted", "ResponseComplete"])
        }
    }

    /// SPEC 7: an event is spooled before the request completes. Read the log the moment the
    /// response is complete: the event must be there. Large bodies make recording slow enough
    /// that recording after the response's end would lose this race.
    @Test(arguments: [false, true]) func theEventIsWrittenBeforeTheClientHasTheWholeResponse(http1Only: Bool)
        async throws
    {
        try await Self.withProxy(rules: "- level: RequestResponse\n") { proxy, log in
            let client = try TestClient(caFile: proxy.certificateFile, http1Only: http1Only)
            let blob = String(repeating: "abcdefgh", count: 96 * 1024)
            let body = #"{"apiVersion":"v1","kind":"ConfigMap","data":{"blob":"\#(blob)"}}"#
            for _ in 0..<3 {
                let response = try await Self.send(
                    proxy, "/api/v1/namespaces/team/configmaps", body: body, client: client)
                #expect(response.body.count == body.utf8.count)
                let auditID = try #require(response.header("Audit-Id"))
                let stages = try log.events(auditID).map { $0["stage"] as? String }
                #expect(stages == ["RequestReceived", "ResponseComplete"], "read the moment the response completed")
                #expect(
                    (try log.events(auditID).last?["responseObject"] as? [String: Any])?["kind"] as? String
                        == "ConfigMap")
            }
            try await client.shutdown()
        }
    }
}
