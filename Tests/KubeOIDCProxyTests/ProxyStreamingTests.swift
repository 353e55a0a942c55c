import Foundation
import TestSupport
import Testing

/// Streaming, real clients, passthrough and readiness, through the built binary.
@Suite(.serialized) struct ProxyStreamingTests {
    @Test func watchEventReachesTheClientWhileTheUpstreamIsStillOpen() async throws {
        try await ProxyFixture.with { proxy in
            let watch = try await proxy.client.open(
                proxy.url + "/api/v1/namespaces/default/pods?watch=true",
                headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(watch.status == 200)
            for _ in 0..<200 where proxy.api.openWatches == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(proxy.api.openWatches == 1)
            proxy.api.sendWatchEvent(#"{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a"}}}"#)
            let first = try await watch.next()
            #expect(first.map { String(decoding: $0, as: UTF8.self) }?.contains(#""name":"a""#) == true)
            proxy.api.sendWatchEvent(#"{"type":"DELETED","object":{"kind":"Pod","metadata":{"name":"a"}}}"#)
            let second = try await watch.next()
            #expect(second.map { String(decoding: $0, as: UTF8.self) }?.contains("DELETED") == true)
            proxy.api.endWatches()
            #expect(try await watch.next() == nil)
        }
    }

    @Test(arguments: [true, false])
    func clientLeavingAWatchClosesItUpstream(http1Only: Bool) async throws {
        try await ProxyFixture.with { proxy in
            let client = try TestClient(caFile: proxy.certificateFile, http1Only: http1Only)
            let watch = try await client.open(
                proxy.url + "/api/v1/namespaces/default/pods?watch=true",
                headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(watch.status == 200)
            for _ in 0..<500 where proxy.api.openWatches == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(proxy.api.openWatches == 1)
            try await client.shutdown()
            // The proxy's upstream connection goes with the client's: nothing keeps the watch open.
            for _ in 0..<500 where proxy.api.openWatches > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(proxy.api.openWatches == 0)
        }
    }

    @Test func concurrentRequestsOnOneHTTP2ConnectionAllGetTheirOwnAnswers() async throws {
        try await ProxyFixture.with { proxy in
            let token = proxy.token()
            // Several rounds: the upstream connections are pooled and reused between them.
            for round in 0..<3 {
                let answers = try await withThrowingTaskGroup(of: (Int, TestClient.Response).self) { group in
                    for index in 0..<48 {
                        group.addTask {
                            // Every other request carries a body, which goes up while others come down.
                            let body = index.isMultiple(of: 2) ? Array("body \(round)-\(index)".utf8) : nil
                            let response = try await proxy.client.request(
                                proxy.url + "/echo", method: body == nil ? .GET : .POST,
                                headers: [("Authorization", "Bearer \(token)")], body: body)
                            return (index, response)
                        }
                    }
                    return try await group.reduce(into: [Int: TestClient.Response]()) { $0[$1.0] = $1.1 }
                }
                #expect(answers.count == 48)
                for (index, response) in answers {
                    #expect(response.status == 200)
                    #expect(response.text == (index.isMultiple(of: 2) ? "body \(round)-\(index)" : ""))
                }
            }
        }
    }

    @Test func watchesShareHTTP2UpstreamWhileOtherRequestsUseHTTP1() async throws {
        try await ProxyFixture.with { proxy in
            let token = proxy.token()
            let watches = try await withThrowingTaskGroup(of: TestClient.StreamingResponse.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await proxy.client.open(
                            proxy.url + "/api/v1/namespaces/ns\(index)/pods?watch=true",
                            headers: [("Authorization", "Bearer \(token)")])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for _ in 0..<500 where proxy.api.openWatches < 20 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(proxy.api.openWatches == 20)
            let plain = try await proxy.client.request(
                proxy.url + "/api/v1/namespaces/default/pods", headers: [("Authorization", "Bearer \(token)")])
            #expect(plain.status == 200)
            proxy.api.sendWatchEvent(#"{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"b"}}}"#)
            for watch in watches {
                let event = try await watch.next()
                #expect(event.map { String(decoding: $0, as: UTF8.self) }?.contains(#""name":"b""#) == true)
            }
            proxy.api.endWatches()
            for watch in watches { #expect(try await watch.next() == nil) }
            // The API server offers h2: the idle-prone watches are streams of shared connections,
            // the short request a keep-alive HTTP/1.1 exchange.
            let versions = Dictionary(grouping: proxy.api.requests, by: { $0.uri.contains("watch=true") })
                .mapValues { Set($0.map(\.version)) }
            #expect(versions[true] == ["HTTP/2.0"])
            #expect(versions[false] == ["HTTP/1.1"])
        }
    }

    @Test func bytesOfAStalledBodyReachTheClientWithinTheFlushInterval() async throws {
        // Under the 64 KiB flush point and not a streamed response: only --flush-interval
        // (here 100ms) sends these bytes on while the API server holds the rest back.
        try await ProxyFixture.with(["--flush-interval=100ms"]) { proxy in
            let client = try TestClient(caFile: proxy.certificateFile)
            let response = try await client.open(
                proxy.url + "/partial", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(response.status == 200)
            let first = try await response.next()
            #expect(first.map { String(decoding: $0, as: UTF8.self) } == "0123456789")
            // The rest never comes: leave, so the proxy has no exchange left to drain.
            try await client.shutdown()
        }
    }

    @Test func kubectlWorksThroughTheProxyAndShowsTheImpersonationRefusal() async throws {
        try await ProxyFixture.with { proxy in
            let directory = try TemporaryDirectory("kubeconfig")
            defer { directory.remove() }
            let kubeconfig = try directory.write(
                """
                apiVersion: v1
                kind: Config
                clusters:
                - name: proxy
                  cluster:
                    server: \(proxy.url)
                    certificate-authority: \(proxy.certificateFile)
                users:
                - name: alice
                  user:
                    token: \(proxy.token())
                contexts:
                - name: proxy
                  context: {cluster: proxy, user: alice}
                current-context: proxy
                """, to: "kubeconfig")
            let kubectl = try #require(Kubectl.find(), "kubectl is not installed")
            let pods = try await kubectl.run([
                "--kubeconfig", kubeconfig, "get", "--raw", "/api/v1/namespaces/default/pods",
            ])
            #expect(pods.status == 0, "\(pods.stderr)")
            #expect(pods.stdout.contains("PodList"))
            let seen = try #require(proxy.api.requests.last)
            #expect(seen.header("Impersonate-User") == "banyan:alice@example.com")
            let refused = try await kubectl.run(
                ["--kubeconfig", kubeconfig, "--as", "bob", "get", "--raw", "/api/v1/namespaces/default/pods"])
            #expect(refused.status != 0)
            #expect(
                refused.stderr.contains("Impersonation requests are disabled when using kube-oidc-proxy"),
                "\(refused.stderr)")
        }
    }

    /// The proxy's own token, when async-http-client refuses to send it (a control character),
    /// failed the TokenReview with an error that repeated the header whole, logged as a warning.
    @Test func aTokenReviewThatCannotBeSentNeverLogsTheProxysToken() async throws {
        let secret = "proxy-secret-5c1d"
        let result = try await ProxyFixture.with(
            ["--token-passthrough"],
            upstream: { api in
                ["--server=\(api.url)", "--certificate-authority=\(api.caFile)", "--token=\(secret)\u{01}"]
            }
        ) { proxy in
            let refused = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer service-account-token")])
            #expect(refused.status == 401)
        }
        #expect(result.stderr.contains("TokenReview failed"))
        #expect(!result.stderr.contains(secret), "\(result.stderr)")
    }

    /// A token repeated, or refused, does not cost the API server a TokenReview per request:
    /// answers are remembered (an acceptance 10 s, a refusal 2 s) and concurrent reviews of one
    /// token are one.
    @Test func tokenReviewsAreRememberedAndShared() async throws {
        try await ProxyFixture.with(["--token-passthrough"]) { proxy in
            proxy.api.setTokenReview("service-account-token", authenticated: true)
            func reviews() -> Int { proxy.api.requests.filter { $0.path.hasSuffix("/tokenreviews") }.count }
            let statuses = await withTaskGroup(of: Int.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try? await proxy.client.request(
                            proxy.url + "/version", headers: [("Authorization", "Bearer service-account-token")])
                        return response?.status ?? 0
                    }
                }
                var all: [Int] = []
                for await status in group { all.append(status) }
                return all
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(reviews() == 1, "20 requests with one token, at once")
            for _ in 0..<5 {
                let refused = try await proxy.client.request(
                    proxy.url + "/version", headers: [("Authorization", "Bearer garbage")])
                #expect(refused.status == 401)
            }
            #expect(reviews() == 2, "a refusal is remembered too")
            let forwarded = proxy.api.requests.filter { $0.path == "/version" }
            #expect(forwarded.count == 20)
            #expect(forwarded.allSatisfy { $0.header("Authorization") == "Bearer service-account-token" })
        }
    }

    @Test func tokenPassthroughForwardsATokenTheAPIServerAcceptsUnchanged() async throws {
        try await ProxyFixture.with(["--token-passthrough", "--token-passthrough-audiences=api"]) { proxy in
            proxy.api.setTokenReview("service-account-token", authenticated: true)
            let accepted = try await proxy.client.request(
                proxy.url + "/version",
                headers: [("Authorization", "Bearer service-account-token"), ("Impersonate-User", "carol")])
            #expect(accepted.status == 200)
            let review = try #require(proxy.api.requests.first { $0.path.hasSuffix("/tokenreviews") })
            #expect(review.header("Authorization") == "Bearer \(ProxyFixture.proxyToken)")
            #expect(String(decoding: review.body, as: UTF8.self).contains(#""audiences":["api"]"#))
            let forwarded = try #require(proxy.api.requests.last)
            #expect(forwarded.path == "/version")
            #expect(forwarded.header("Authorization") == "Bearer service-account-token")
            #expect(forwarded.header("Impersonate-User") == "carol")
            let refused = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer unknown-token")])
            #expect(refused.status == 401)
            // OIDC tokens still go the impersonation way.
            let oidc = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(oidc.status == 200)
            #expect(proxy.api.requests.last?.header("Impersonate-User") == "banyan:alice@example.com")
        }
    }

    @Test func readinessTurnsGreenWhenTheIssuerComesUpAfterTheProxy() async throws {
        let issuer = try await TestIssuer.start()
        issuer.setAvailable(false)
        try await ProxyFixture.with(issuer: issuer, waitUntilReady: false) { proxy in
            func readyCode() async throws -> String {
                try await ProxyProcess.runTool(
                    "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", proxy.probeURL + "/ready"]
                ).stdout
            }
            #expect(try await readyCode() == "503")
            let early = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(early.status == 401)
            issuer.setAvailable(true)
            var code = try await readyCode()
            for _ in 0..<300 where code != "200" {
                try await Task.sleep(for: .milliseconds(50))
                code = try await readyCode()
            }
            #expect(code == "200")
            let later = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(later.status == 200)
        }
    }
}
