import Foundation
import TestSupport
import Testing

/// Every request is audited as the API server would: `--audit-policy-file` + `--audit-log-path`.
@Suite(.serialized) struct ProxyAuditLogTests {
    @Test func requestsAreWrittenAsAPIServerEventsWithTheirAuditID() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let policy = try directory.write(
            """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
            - level: None
              userGroups: ["system:authenticated"]
              nonResourceURLs: ["/version"]
            - level: Metadata
            """, to: "policy.yaml")
        let log = directory.file("audit.log")
        try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log)"]) { proxy in
            let response = try await proxy.client.request(
                proxy.url + "/api/v1/namespaces/default/pods?limit=5",
                headers: [
                    ("Authorization", "Bearer \(proxy.token())"), ("User-Agent", "kubectl/v1.32.4"),
                    ("X-Forwarded-For", "203.0.113.7"),
                ])
            #expect(response.status == 200)
            let auditID = try #require(response.header("Audit-Id"))
            let refused = try await proxy.client.request(proxy.url + "/api/v1/namespaces/default/pods")
            #expect(refused.status == 401)
            #expect(refused.header("Audit-Id") != nil)
            _ = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])

            let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            let events = try lines.map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            let mine = events.filter { $0["auditID"] as? String == auditID }
            #expect(mine.map { $0["stage"] as? String } == ["RequestReceived", "ResponseComplete"])
            let complete = try #require(mine.last)
            #expect(complete["kind"] as? String == "Event")
            #expect(complete["apiVersion"] as? String == "audit.k8s.io/v1")
            #expect(complete["level"] as? String == "Metadata")
            #expect(complete["verb"] as? String == "list")
            #expect(complete["requestURI"] as? String == "/api/v1/namespaces/default/pods?limit=5")
            let user = try #require(complete["user"] as? [String: Any])
            #expect(user["username"] as? String == "banyan:alice@example.com")
            // With `system:authenticated`, as the API server's authenticator adds it to every user
            // (and the forwarded `Impersonate-Group` headers carry it): the None rule above matches
            // on it, so alice's /version is not recorded.
            #expect(user["groups"] as? [String] == ["banyan:admin", "banyan:dev", "system:authenticated"])
            let objectRef = try #require(complete["objectRef"] as? [String: Any])
            #expect(objectRef["resource"] as? String == "pods")
            #expect(objectRef["namespace"] as? String == "default")
            #expect(objectRef["apiVersion"] as? String == "v1")
            #expect((complete["responseStatus"] as? [String: Any])?["code"] as? Int == 200)
            // As the API server lists them: the forwarding chain, then the peer.
            #expect(complete["sourceIPs"] as? [String] == ["203.0.113.7", "127.0.0.1"])
            #expect(complete["userAgent"] as? String == "kubectl/v1.32.4")
            #expect(
                (complete["stageTimestamp"] as? String)?.range(of: #"\.\d{6}Z$"#, options: .regularExpression) != nil)
            // The refused request is audited too; the None rule keeps /version out.
            // Its responseStatus is the Status the proxy answered with, as the API server records its own.
            // One event, at ResponseStarted, as the API server's failed-authentication audit writes.
            let refusals = events.filter { ($0["responseStatus"] as? [String: Any])?["code"] as? Int == 401 }
            #expect(refusals.count == 1)
            let refusedID = try #require(refusals.first?["auditID"] as? String)
            #expect(events.filter { $0["auditID"] as? String == refusedID }.count == 1)
            #expect(refusals.first?["stage"] as? String == "ResponseStarted")
            #expect((refusals.first?["user"] as? [String: Any])?.isEmpty == true)
            let refusedStatus = try #require(refusals.first?["responseStatus"] as? [String: Any])
            #expect(refusedStatus["status"] as? String == "Failure")
            #expect(refusedStatus["reason"] as? String == "Unauthorized")
            #expect(refusedStatus["message"] as? String == "Unauthorized")
            #expect(!events.contains { $0["requestURI"] as? String == "/version" })
            #expect(!lines.contains { $0.contains(proxy.token()) }, "a token reached the audit log")
        }
    }

    /// A policy recording every request at `Metadata` in `directory`, and the log path beside it.
    static func metadataForEveryRequest(in directory: TemporaryDirectory) throws -> (policy: String, log: String) {
        let policy = try directory.write(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n", to: "policy.yaml")
        return (policy, directory.file("audit.log"))
    }

    /// An error the API server answers with a `Status` (RBAC refusing a list, here) is recorded
    /// with that Status's status, message, reason and details at `Metadata`, as the API server's
    /// own event records it; a success carries its code.
    @Test func anAPIServerErrorsStatusIsCopiedIntoTheEvent() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let (policy, log) = try Self.metadataForEveryRequest(in: directory)
        try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log)"]) { proxy in
            for http1 in [false, true] {
                let client = http1 ? try TestClient(caFile: proxy.certificateFile, http1Only: true) : proxy.client
                let response = try await client.request(
                    proxy.url + "/api/v1/namespaces/kube-system/secrets",
                    headers: [("Authorization", "Bearer \(proxy.token())")])
                #expect(response.status == 403)
                let auditID = try #require(response.header("Audit-Id"))
                let line = try #require(
                    try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").first {
                        $0.contains(auditID) && $0.contains("ResponseComplete")
                    })
                #expect(
                    line.contains(
                        #""responseStatus":{"metadata":{},"status":"Failure","message":"secrets is forbidden: User "#
                            + #"\"banyan:alice@example.com\" cannot list resource \"secrets\" in API group \"\" in the "#
                            + #"namespace \"kube-system\"","reason":"Forbidden","details":{"kind":"secrets"},"code":403}"#
                    ),
                    "\(line)")
                #expect(!line.contains("responseObject"))
                if http1 { try await client.shutdown() }
            }
            let fine = try await proxy.client.request(
                proxy.url + "/api/v1/namespaces/default/pods", headers: [("Authorization", "Bearer \(proxy.token())")])
            let fineID = try #require(fine.header("Audit-Id"))
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.contains(#""auditID":"\#(fineID)","stage":"ResponseComplete""#))
            #expect(
                text.split(separator: "\n").contains {
                    $0.contains(fineID) && $0.contains(#""responseStatus":{"metadata":{},"code":200}"#)
                })
        }
    }

    /// A client that leaves while the API server has not answered yet (Ctrl-C during a slow
    /// request) is no failure of the API server's: no "API server unreachable" error line, no
    /// upstream error counted, and the event says no such thing; it is recorded as Go's reverse
    /// proxy ends such a request, a 502 without a `Status`.
    @Test func aClientLeavingBeforeTheAnswerIsNotAnUnreachableAPIServer() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let (policy, log) = try Self.metadataForEveryRequest(in: directory)
        let result = try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log)"]) {
            proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send(
                "GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(proxy.token())\r\n\r\n")
            var waited = 0
            while !proxy.api.requests.contains(where: { $0.path == "/hang" }), waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            try await client.closeAbruptly()
            var event: Substring?
            for _ in 0..<500 where event == nil {
                event = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").first {
                    $0.contains(#""requestURI":"/hang""#) && $0.contains("ResponseComplete")
                }
                if event == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let complete = try #require(event)
            #expect(complete.contains(#""responseStatus":{"metadata":{},"code":502}"#), "\(complete)")
            let metrics = try await ProxyProcess.runTool("/usr/bin/curl", ["-s", proxy.probeURL + "/metrics"]).stdout
            #expect(!metrics.contains("kube_oidc_proxy_upstream_errors_total{"), "\(metrics)")
        }
        #expect(!result.stderr.contains("API server unreachable"), "\(result.stderr)")
    }

    /// A token the API server accepted (`--token-passthrough`) is audited as the user its
    /// TokenReview names, not as an empty user; the policy is matched on that user too.
    @Test func aPassedThroughTokenIsAuditedAsTheUserTheAPIServerNames() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let policy = try directory.write(
            """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
            - level: None
              users: [""]
            - level: Metadata
            """, to: "policy.yaml")
        let log = directory.file("audit.log")
        try await ProxyFixture.with(["--token-passthrough", "--audit-policy-file=\(policy)", "--audit-log-path=\(log)"])
        {
            proxy in
            proxy.api.setTokenReview("service-account-token", authenticated: true)
            let response = try await proxy.client.request(
                proxy.url + "/api/v1/namespaces/default/pods",
                headers: [("Authorization", "Bearer service-account-token")])
            #expect(response.status == 200)
            let auditID = try #require(response.header("Audit-Id"))
            let events = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["auditID"] as? String == auditID }
            #expect(events.count == 2)
            let user = try #require(events.last?["user"] as? [String: Any])
            #expect(user["username"] as? String == "system:serviceaccount:default:robot")
            #expect(user["groups"] as? [String] == FakeAPIServer.reviewedGroups)
        }
    }

    /// One ID names the exchange everywhere: the proxy's event, the response's single `Audit-Id`
    /// (not the API server's beside ours), and the API server's own audit log, which takes the
    /// `Audit-ID` the proxy sends. One the client sent is replaced, over HTTP/2 and HTTP/1.1.
    @Test func theAPIServerAndTheClientSeeTheProxysAuditIDOnce() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let (policy, log) = try Self.metadataForEveryRequest(in: directory)
        try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log)"]) { proxy in
            let http1 = try TestClient(caFile: proxy.certificateFile, http1Only: true)
            for (client, clientID) in [
                (proxy.client, nil), (http1, nil), (proxy.client, "chosen-by-client"), (http1, "x"),
            ] {
                var headers = [("Authorization", "Bearer \(proxy.token())")]
                if let clientID { headers.append(("Audit-ID", clientID)) }
                let uri = "/api/v1/namespaces/default/pods?limit=\(UUID())"
                let response = try await client.request(proxy.url + uri, headers: headers)
                #expect(response.status == 200)
                let ids = response.headers.filter { $0.0.lowercased() == "audit-id" }.map(\.1)
                #expect(ids.count == 1, "\(response.headers)")
                let auditID = try #require(ids.first)
                #expect(auditID != clientID)
                let seen = proxy.api.requests.last { $0.uri == uri }
                #expect(seen?.header("Audit-ID") == auditID)
                #expect(seen?.headers.filter { $0.0.lowercased() == "audit-id" }.count == 1)
                let text = try String(contentsOfFile: log, encoding: .utf8)
                #expect(text.contains(#""auditID":"\#(auditID)","stage":"ResponseComplete""#))
            }
            try await http1.shutdown()
        }
    }

    @Test func aWatchIsAuditedWhenItsResponseStartsNotOnlyWhenItEnds() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let (policy, log) = try Self.metadataForEveryRequest(in: directory)
        func stages(_ auditID: String) throws -> [String] {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return try text.split(separator: "\n").compactMap {
                let event = try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                guard event["auditID"] as? String == auditID else { return nil }
                #expect(event["verb"] as? String == "watch")
                if event["stage"] as? String != "RequestReceived" {
                    #expect((event["responseStatus"] as? [String: Any])?["code"] as? Int == 200)
                }
                return event["stage"] as? String
            }
        }
        try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log)"]) { proxy in
            let client = try TestClient(caFile: proxy.certificateFile)
            let watch = try await client.open(
                proxy.url + "/api/v1/namespaces/default/pods?watch=true",
                headers: [("Authorization", "Bearer \(proxy.token())")])
            let auditID = try #require(watch.header("Audit-Id"))
            // While the watch is open, as the API server writes them.
            for _ in 0..<500 where try stages(auditID).count < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try stages(auditID) == ["RequestReceived", "ResponseStarted"])
            proxy.api.endWatches()
            #expect(try await watch.next() == nil)
            for _ in 0..<500 where try stages(auditID).count < 3 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try stages(auditID) == ["RequestReceived", "ResponseStarted", "ResponseComplete"])
            try await client.shutdown()
        }
    }

    @Test func malformedPolicyIsAStartupErrorNamingFileAndLine() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let policy = try directory.write(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n", to: "policy.yaml")
        let result = try await ProxyProcess.run([
            "--oidc-issuer-url=https://issuer.example", "--oidc-client-id=kube", "--server=https://127.0.0.1:1",
            "--insecure-skip-tls-verify", "--audit-policy-file=\(policy)", "--audit-log-path=-",
            "--cert-dir=\(directory.file("certs"))",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains(policy), "\(result.stderr)")
        #expect(result.stderr.contains("line 4"), "\(result.stderr)")
    }
}
