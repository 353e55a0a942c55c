import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// Audit batches shipped by the running proxy: to the Banyan REST API and to an audit webhook,
/// through a durable spool that survives kill -9.
@Suite(.serialized) struct ProxyAuditShippingTests {
    static func metadataPolicy(in directory: String) throws -> String {
        let path = directory + "/policy.yaml"
        try "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func banyanFlags(_ api: FakeBanyanAPI, directory: String, tokenFile: String) throws -> [String] {
        [
            "--audit-policy-file=\(try metadataPolicy(in: directory))", "--audit-spool-dir=\(directory)/spool",
            "--banyan-restapi-url=\(api.url)", "--banyan-service-name=prod cluster",
            "--banyan-refresh-token-file=\(tokenFile)", "--banyan-ca-file=\(api.caFile)",
            "--audit-webhook-batch-max-wait=300ms", "--audit-webhook-initial-backoff=100ms",
        ]
    }

    static func refreshTokenFile(in directory: String, _ token: String) throws -> String {
        let path = directory + "/refresh-token"
        try (token + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Makes `count` requests (one of them without a token, refused) and returns their Audit-Ids.
    /// Makes `count` requests, the first refused at authentication: `2 * count - 1` events (two
    /// per request, one for the refusal).
    static func makeRequests(_ proxy: ProxyFixture, count: Int) async throws -> Set<String> {
        var ids = Set<String>()
        for index in 0..<count {
            let headers = index == 0 ? [] : [("Authorization", "Bearer \(proxy.token())")]
            let response = try await proxy.client.request(
                proxy.url + "/api/v1/namespaces/default/pods?limit=\(index)", headers: headers)
            #expect(response.status == (index == 0 ? 401 : 200))
            ids.insert(try #require(response.header("Audit-Id")))
        }
        return ids
    }

    static func metrics(_ proxy: ProxyFixture) async throws -> String {
        try await ProxyProcess.runTool("/usr/bin/curl", ["-s", proxy.probeURL + "/metrics"]).stdout
    }

    /// The value of the metric line starting with `prefix`, or nil.
    static func value(_ prefix: String, in metrics: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last!) }
    }

    static func auditIDs(_ events: [[String: Any]]) -> Set<String> {
        Set(events.compactMap { $0["auditID"] as? String })
    }

    static func waitFor(_ timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    @Test func banyanSinkExchangesTheTokenRetriesAndNeverLogsTokens() async throws {
        let scratch = try TemporaryDirectory("shipping")
        defer { scratch.remove() }
        let directory = scratch.path
        let refreshToken = "refresh-\(UUID().uuidString)"
        let api = try await FakeBanyanAPI.start(refreshToken: refreshToken)
        // The first POST is refused as expired (one re-exchange), the next gets a 500 (back-off).
        api.failNextPosts([401, 500])
        var requested = Set<String>()
        let result = try await ProxyFixture.with(
            try Self.banyanFlags(
                api, directory: directory, tokenFile: Self.refreshTokenFile(in: directory, refreshToken))
                + ["-v=10"]
        ) { proxy in
            requested = try await Self.makeRequests(proxy, count: 12)
            #expect(try await Self.waitFor { requested.isSubset(of: Self.auditIDs(try api.deliveredEvents())) })
            // The receiver records a batch before the proxy reads its answer and counts it.
            var metrics = ""
            #expect(
                try await Self.waitFor {
                    metrics = try await Self.metrics(proxy)
                    return Self.value(
                        #"kube_oidc_proxy_audit_batches_total{result="sent",backend="banyan"}"#, in: metrics)
                        ?? 0 >= 1
                })
            #expect(
                Self.value(#"kube_oidc_proxy_audit_batches_total{result="failed",backend="banyan"}"#, in: metrics) == 2)
            #expect(
                Self.value(#"kube_oidc_proxy_audit_events_total{result="accepted",backend="banyan"}"#, in: metrics)
                    == 23)
        }
        try await api.stop()

        #expect(api.exchanges.count == 2, "one exchange, then exactly one after the 401")
        for exchange in api.exchanges {
            #expect(exchange.method == "POST")
            #expect(exchange.header("Authorization") == "Bearer \(refreshToken)")
            #expect(exchange.body.isEmpty)
        }
        for post in api.posts {
            #expect(post.uri == "/api/v1/events/kubernetes?service_name=prod%20cluster")
            #expect(post.header("Content-Type") == "application/json")
            let json = try AuditBatchBody.json(of: post)
            #expect((post.header("Content-Encoding") == "gzip") == (json.count >= 4096))
        }
        #expect(api.posts.first?.header("Authorization") == "Bearer \(api.issuedAccessTokens[0])")
        #expect(
            api.posts.dropFirst().allSatisfy { $0.header("Authorization") == "Bearer \(api.issuedAccessTokens[1])" })
        // Each request yields RequestReceived and ResponseComplete; the refused one too.
        let events = try api.deliveredEvents()
        #expect(Self.auditIDs(events) == requested)
        // Items of an `EventList`, as the API server's webhook sends them: the type is the list's.
        #expect(events.allSatisfy { $0["kind"] == nil && $0["apiVersion"] == nil && $0["level"] as? String != nil })
        #expect(events.contains { ($0["responseStatus"] as? [String: Any])?["code"] as? Int == 401 })

        let output = result.stdout + result.stderr
        #expect(output.contains("audit batch delivered"), "the most verbose level was on")
        #expect(!output.contains(refreshToken), "the refresh token reached the log")
        for token in api.issuedAccessTokens { #expect(!output.contains(token), "an access token reached the log") }
        #expect(!output.lowercased().contains("authorization: bearer"))
    }

    /// The repository's `configmap.yaml` as the Banyan guide applies it: its `webhook.yaml` names
    /// the audit sidecar on localhost:8082; a fake receiver on a free port stands in for it.
    static func configmapWebhookConfig(port: Int) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let configmap = try String(contentsOf: root.appendingPathComponent("configmap.yaml"), encoding: .utf8)
        var lines: [Substring] = []
        var inside = false
        for line in configmap.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  webhook.yaml: |") {
                inside = true
            } else if inside {
                guard line.hasPrefix("    ") || line.isEmpty else { break }
                lines.append(line.dropFirst(4))
            }
        }
        let text = lines.joined(separator: "\n")
        #expect(text.contains("http://localhost:8082/"), "configmap.yaml's webhook no longer names the sidecar")
        return text.replacingOccurrences(of: "localhost:8082", with: "localhost:\(port)")
    }

    @Test func webhookBackendPostsEventListsToTheSidecarNamedInTheRepositorysConfigmap() async throws {
        let scratch = try TemporaryDirectory("shipping")
        defer { scratch.remove() }
        let directory = scratch.path
        let receiver = try await FakeWebhookReceiver.start()
        let config = directory + "/webhook.yaml"
        try Self.configmapWebhookConfig(port: receiver.port).write(toFile: config, atomically: true, encoding: .utf8)
        receiver.failNextPosts([503])
        try await ProxyFixture.with([
            "--audit-policy-file=\(try Self.metadataPolicy(in: directory))", "--audit-webhook-config-file=\(config)",
            "--audit-spool-dir=\(directory)/spool", "--audit-webhook-batch-max-wait=200ms",
            "--audit-webhook-initial-backoff=100ms", "--audit-log-path=\(directory)/audit.log",
        ]) { proxy in
            let requested = try await Self.makeRequests(proxy, count: 5)
            #expect(try await Self.waitFor { requested.isSubset(of: Self.auditIDs(try receiver.deliveredEvents())) })
            #expect(receiver.posts.allSatisfy { $0.uri == "/" && $0.header("Content-Type") == "application/json" })
            // The log file still gets every event too.
            let logged = try String(contentsOfFile: directory + "/audit.log", encoding: .utf8)
            for id in requested { #expect(logged.contains(id)) }
        }
        try await receiver.stop()
    }

    /// `--audit-webhook-truncate-enabled`: the webhook gets an event over the limit (here 20 KiB,
    /// by `--audit-webhook-truncate-max-event-size`, below the 100 KiB default) without its
    /// objects (annotated), a small one whole; the log file keeps both whole, as the API server's.
    @Test func truncationAppliesToTheWebhookButNotToTheLogFile() async throws {
        let scratch = try TemporaryDirectory("shipping")
        defer { scratch.remove() }
        let directory = scratch.path
        let receiver = try await FakeWebhookReceiver.start()
        let config = directory + "/webhook.yaml"
        try Self.configmapWebhookConfig(port: receiver.port).write(toFile: config, atomically: true, encoding: .utf8)
        let policy = directory + "/policy.yaml"
        try "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n".write(
            toFile: policy, atomically: true, encoding: .utf8)
        try await ProxyFixture.with([
            "--audit-policy-file=\(policy)", "--audit-webhook-config-file=\(config)",
            "--audit-spool-dir=\(directory)/spool", "--audit-webhook-batch-max-wait=200ms",
            "--audit-webhook-truncate-enabled=true", "--audit-webhook-truncate-max-event-size=20480",
            "--audit-log-path=\(directory)/audit.log",
        ]) { proxy in
            var ids: [String] = []
            for size in [30 * 1024, 16] {
                let body = #"{"kind":"ConfigMap","data":{"blob":"\#(String(repeating: "x", count: size))"}}"#
                let response = try await proxy.client.request(
                    proxy.url + "/api/v1/namespaces/team/configmaps", method: .POST,
                    headers: [("Authorization", "Bearer \(proxy.token())"), ("Content-Type", "application/json")],
                    body: Array(body.utf8))
                #expect(response.status == 201)
                ids.append(try #require(response.header("Audit-Id")))
            }
            func complete(_ events: [[String: Any]], _ id: String) -> [String: Any]? {
                events.first { $0["auditID"] as? String == id && $0["stage"] as? String == "ResponseComplete" }
            }
            #expect(
                try await Self.waitFor {
                    ids.allSatisfy { complete((try? receiver.deliveredEvents()) ?? [], $0) != nil }
                })
            let delivered = try receiver.deliveredEvents()
            let big = try #require(complete(delivered, ids[0]))
            #expect(big["requestObject"] == nil && big["responseObject"] == nil)
            #expect(big["annotations"] as? [String: String] == ["audit.k8s.io/truncated": "true"])
            let small = try #require(complete(delivered, ids[1]))
            #expect(small["requestObject"] != nil && small["responseObject"] != nil && small["annotations"] == nil)

            let logged = try String(contentsOfFile: directory + "/audit.log", encoding: .utf8).split(separator: "\n")
                .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let whole = try #require(complete(logged, ids[0]))
            #expect(whole["requestObject"] != nil && whole["responseObject"] != nil && whole["annotations"] == nil)
        }
        try await receiver.stop()
    }

    /// At least once: a proxy killed with -9 while Banyan is down loses no event; the next proxy
    /// on the same spool sends them all (a receiver may see some twice, and dedupes by auditID).
    @Test func eventsSpooledBeforeKillMinus9AreDeliveredAtLeastOnceAfterRestart() async throws {
        let scratch = try TemporaryDirectory("shipping")
        defer { scratch.remove() }
        let directory = scratch.path
        let refreshToken = "refresh-\(UUID().uuidString)"
        let api = try await FakeBanyanAPI.start(refreshToken: refreshToken)
        let flags = try Self.banyanFlags(
            api, directory: directory, tokenFile: Self.refreshTokenFile(in: directory, refreshToken))
        api.setDown(true)
        let first = try await ProxyFixture.start(flags)
        var requested = Set<String>()
        do {
            requested = try await Self.makeRequests(first, count: 20)
            #expect(
                try await Self.waitFor {
                    Self.value(
                        #"kube_oidc_proxy_audit_events_total{result="accepted",backend="banyan"}"#,
                        in: try await Self.metrics(first)) == 39
                })
            #expect(try await Self.waitFor { !api.exchanges.isEmpty }, "the sink was tried while down")
        } catch {
            _ = try? await first.stop(signal: SIGKILL)
            throw error
        }
        _ = try await first.stop(signal: SIGKILL)
        #expect(try api.deliveredEvents().isEmpty)

        // A crash mid-append leaves a torn record at the end of the newest segment.
        let spool = directory + "/spool/banyan"
        let segments = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasPrefix("segment-") }
        let newest = try #require(segments.sorted().last)
        let handle = try #require(FileHandle(forWritingAtPath: spool + "/" + newest))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0xA5, 0xFF, 0x01, 0x00, 0x00, 0x12]))
        try handle.close()

        api.setDown(false)
        let result = try await ProxyFixture.with(flags) { _ in
            let delivered = try await Self.waitFor { requested.isSubset(of: Self.auditIDs(try api.deliveredEvents())) }
            #expect(delivered)
        }
        try await api.stop()
        // Deduplicated by auditID, the receiver saw exactly the requests made: none lost, none invented.
        #expect(Self.auditIDs(try api.deliveredEvents()) == requested)
        #expect(result.stderr.contains("audit spool recovered"), "\(result.stderr.suffix(2000))")
        #expect(result.stderr.contains("tornRecords=1"))
    }

    @Test func aFullSpoolDropsTheOldestEventsCountsThemAndSaysSo() async throws {
        let scratch = try TemporaryDirectory("shipping")
        defer { scratch.remove() }
        let directory = scratch.path
        let refreshToken = "refresh-\(UUID().uuidString)"
        let api = try await FakeBanyanAPI.start(refreshToken: refreshToken)
        api.setDown(true)
        let flags =
            try Self.banyanFlags(
                api, directory: directory, tokenFile: Self.refreshTokenFile(in: directory, refreshToken))
            + ["--audit-spool-max-bytes=16Ki"]
        try await ProxyFixture.with(flags) { proxy in
            _ = try await Self.makeRequests(proxy, count: 40)
            var dropped: Double?
            #expect(
                try await Self.waitFor {
                    dropped = Self.value(
                        #"kube_oidc_proxy_audit_events_total{result="dropped",backend="banyan"}"#,
                        in: try await Self.metrics(proxy))
                    return (dropped ?? 0) > 0
                })
            let metrics = try await Self.metrics(proxy)
            #expect(
                (Self.value(#"kube_oidc_proxy_audit_spool_bytes{backend="banyan"}"#, in: metrics) ?? .infinity) <= 16384
            )
            #expect(
                (Self.value(#"kube_oidc_proxy_audit_oldest_unsent_event_age_seconds{backend="banyan"}"#, in: metrics)
                    ?? 0)
                    > 0)
            #expect(proxy.process.stderr.contains("audit events dropped"))
            // Back before the shutdown, whose flush would otherwise retry until its 10 s deadline.
            api.setDown(false)
        }
        try await api.stop()
    }
}
