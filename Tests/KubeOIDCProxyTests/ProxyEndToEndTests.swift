import Foundation
import TestSupport
import Testing

/// SPEC section 3, rule by rule, through the built binary over real TLS: a real issuer, a fake
/// API server that records what reaches it, and the proxy in between.
@Suite(.serialized) struct ProxyEndToEndTests {
    func statusBody(_ response: TestClient.Response) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return try #require(object)
    }

    @Test func requestWithoutTokenIs401StatusAndNeverReachesUpstream() async throws {
        try await ProxyFixture.with() { proxy in
            let response = try await proxy.client.request(proxy.url + "/api/v1/namespaces/default/pods")
            #expect(response.status == 401)
            #expect(response.header("Content-Type") == "application/json")
            let status = try statusBody(response)
            #expect(status["kind"] as? String == "Status")
            #expect(status["apiVersion"] as? String == "v1")
            #expect(status["status"] as? String == "Failure")
            #expect(status["reason"] as? String == "Unauthorized")
            #expect(status["code"] as? Int == 401)
            #expect(proxy.api.requests.isEmpty)
        }
    }

    @Test func badTokensAre401() async throws {
        let log = try await ProxyFixture.with() { proxy in
            let forged = TokenMinter.mint(
                proxy.issuer.claims(extra: ["email": .string("mallory@example.com")]),
                key: .rsa(proxy.issuer.signingKey.keyID))
            for authorization in ["Bearer not-a-jwt", "Bearer \(forged)", "Basic YWxpY2U6cHc=", "Bearer "] {
                let response = try await proxy.client.request(
                    proxy.url + "/version", headers: [("Authorization", authorization)])
                #expect(response.status == 401, "\(authorization.prefix(12)) gave \(response.status)")
            }
            #expect(proxy.api.requests.isEmpty)
        }
        #expect(!log.stderr.contains("not-a-jwt"), "a token reached the log")
    }

    @Test func clientImpersonationHeadersAre403AndNothingReachesUpstream() async throws {
        try await ProxyFixture.with() { proxy in
            let token = proxy.token()
            for header in ["Impersonate-User", "impersonate-group", "Impersonate-Uid", "Impersonate-Extra-Scopes"] {
                let response = try await proxy.client.request(
                    proxy.url + "/api/v1/namespaces/default/pods",
                    headers: [("Authorization", "Bearer \(token)"), (header, "x")])
                #expect(response.status == 403, "\(header)")
                let status = try statusBody(response)
                #expect(
                    status["message"] as? String == "Impersonation requests are disabled when using kube-oidc-proxy")
                #expect(status["reason"] as? String == "Forbidden")
            }
            #expect(proxy.api.requests.isEmpty)
        }
    }

    @Test func forwardedRequestCarriesExactlyTheImpersonationHeaders() async throws {
        try await ProxyFixture.with() { proxy in
            let response = try await proxy.client.request(
                proxy.url + "/api/v1/namespaces/default/pods?limit=5",
                headers: [
                    ("Authorization", "Bearer \(proxy.token())"), ("Accept", "application/json"), ("X-Custom", "kept"),
                ])
            #expect(response.status == 200)
            #expect(response.text.contains("PodList"))
            let seen = try #require(proxy.api.requests.first)
            #expect(seen.uri == "/api/v1/namespaces/default/pods?limit=5")
            #expect(seen.method == "GET")
            #expect(seen.header("Authorization") == "Bearer \(ProxyFixture.proxyToken)")
            #expect(seen.headers.filter { $0.0.lowercased() == "authorization" }.count == 1)
            #expect(seen.header("Impersonate-User") == "banyan:alice@example.com")
            let groups = seen.headers.filter { $0.0.lowercased() == "impersonate-group" }.map(\.1)
            #expect(groups == ["banyan:admin", "banyan:dev", "system:authenticated"])
            #expect(seen.header("X-Custom") == "kept")
            #expect(seen.header("Accept") == "application/json")
            // As Go's reverse proxy adds it: the API server's audit names the client.
            #expect(seen.header("X-Forwarded-For") == "127.0.0.1")
        }
    }

    @Test func extraUserHeadersAndClientIPAreAdded() async throws {
        try await ProxyFixture.with([
            "--extra-user-headers=team=blue,team=green", "--extra-user-headers=region/zone=eu",
            "--extra-user-header-client-ip",
        ]) { proxy in
            let response = try await proxy.client.request(
                proxy.url + "/version",
                headers: [("Authorization", "Bearer \(proxy.token())"), ("X-Forwarded-For", "6.6.6.6")])
            #expect(response.status == 200)
            let seen = try #require(proxy.api.requests.first)
            #expect(
                seen.headers.filter { $0.0.lowercased() == "impersonate-extra-team" }.map(\.1) == ["blue", "green"])
            #expect(seen.header("Impersonate-Extra-region%2Fzone") == "eu")
            #expect(seen.header("Impersonate-Extra-Remote-Client-Ip") == "127.0.0.1")
            // The chain the client came through, then the client.
            #expect(seen.header("X-Forwarded-For") == "6.6.6.6, 127.0.0.1")
        }
    }

    /// The default `--bind-address` (0.0.0.0) listens on IPv6 too, as the Go proxy's listener
    /// does: an IPv6-only cluster reaches the pod. An IPv4 client is still named by its dotted
    /// address (not `::ffff:127.0.0.1`). The probes listen on every interface whatever the bind
    /// address, as the Go proxy's: the kubelet probes the pod's IP.
    @Test func theWildcardBindAddressServesIPv6TooAndProbesEveryInterface() async throws {
        try await ProxyFixture.with(["--bind-address=0.0.0.0", "--extra-user-header-client-ip"]) { proxy in
            let overIPv6 = try await ProxyProcess.runTool(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", proxy.certificateFile,
                    "-H", "Authorization: Bearer \(proxy.token())", "https://[::1]:\(proxy.port)/version",
                ])
            #expect(overIPv6.stdout == "200", "\(overIPv6)")
            #expect(proxy.api.requests.last?.header("Impersonate-Extra-Remote-Client-Ip") == "::1")
            let overIPv4 = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(overIPv4.status == 200)
            #expect(proxy.api.requests.last?.header("Impersonate-Extra-Remote-Client-Ip") == "127.0.0.1")
        }
        try await ProxyFixture.with(["--bind-address=127.0.0.1"]) { proxy in
            let probe = try await ProxyProcess.runTool(
                "/usr/bin/curl", ["-s", "http://[::1]:\(proxy.probePort)/healthz"])
            #expect(probe.stdout == "ok", "\(probe)")
        }
    }

    /// An ID token carrying many roles is tens of KiB: accepted over HTTP/2 (the proxy used
    /// to advertise swift-nio-http2's 16 KiB header list, where Go and the API server allow
    /// 1 MiB) and HTTP/1.1, every role forwarded.
    @Test func aTokenWithManyRolesIsAcceptedOverBothProtocols() async throws {
        try await ProxyFixture.with { proxy in
            let roles = (0..<600).map { "team-\($0)-with-a-long-descriptive-name" }
            let token = proxy.token(roles: roles)
            #expect(token.utf8.count > 30_000)
            for protocolFlag in ["--http2", "--http1.1"] {
                // Over HTTP/2 the larger limit holds once the client has acknowledged the proxy's
                // settings: swift-nio-http2 decodes at most 16 KiB of headers before that (a
                // request sent in the same flight as the connection's preface). So a small
                // request first, then the large one on the same connection.
                let result = try await ProxyProcess.runTool(
                    "/usr/bin/curl",
                    [
                        "-s", "-o", "/dev/null", "-w", "%{http_code} ", protocolFlag, "--cacert", proxy.certificateFile,
                        proxy.url + "/version", "--next", "-s", "-o", "/dev/null", "-w", "%{http_code}", protocolFlag,
                        "--cacert", proxy.certificateFile, "-H", "Authorization: Bearer \(token)",
                        proxy.url + "/version",
                    ])
                #expect(result.stdout == "401 200", "\(protocolFlag): \(result)")
                let groups = proxy.api.requests.last?.headers.filter { $0.0.lowercased() == "impersonate-group" }
                #expect(groups?.count == roles.count + 1)
            }
        }
    }

    @Test func upstreamStatusHeadersAndBodyPassUnchanged() async throws {
        try await ProxyFixture.with() { proxy in
            let response = try await proxy.client.request(
                proxy.url + "/forbidden", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(response.status == 403)
            #expect(response.text.contains("pods is forbidden"))
            let payload = Array((0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
            let echoed = try await proxy.client.request(
                proxy.url + "/echo", method: .POST, headers: [("Authorization", "Bearer \(proxy.token())")],
                body: payload)
            #expect(echoed.status == 200)
            #expect(echoed.body == payload)
        }
    }

    @Test func disableImpersonationForwardsTheUsersOwnToken() async throws {
        try await ProxyFixture.with(["--disable-impersonation"]) { proxy in
            let token = proxy.token()
            let response = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(token)"), ("Impersonate-User", "bob")])
            #expect(response.status == 200)
            let seen = try #require(proxy.api.requests.first)
            #expect(seen.header("Authorization") == "Bearer \(token)")
            #expect(seen.header("Impersonate-User") == "bob")
        }
    }

    /// A proxy whose own credential is a client certificate presents it only on requests it
    /// impersonates: the API server authenticates a certificate before a bearer token, so a
    /// request forwarded with the user's own token (`--disable-impersonation`, a passed-through
    /// token) over the proxy's certificate ran as the proxy, impersonation headers and all.
    @Test(arguments: [false, true])
    func theProxysClientCertificateGoesOnlyWithImpersonation(passthrough: Bool) async throws {
        let directory = try TemporaryDirectory("client-cert")
        defer { directory.remove() }
        try await ProxyFixture.with(
            passthrough ? ["--token-passthrough"] : ["--disable-impersonation"],
            upstream: { api in
                let certificate = try api.ca.issueClientCertificate(commonName: "system:kube-oidc-proxy")
                return [
                    "--server=\(api.url)", "--certificate-authority=\(api.caFile)",
                    "--client-certificate=" + (try directory.write(certificate.certificatePEM, to: "proxy.crt")),
                    "--client-key=" + (try directory.write(certificate.keyPEM, to: "proxy.key")),
                ]
            }
        ) { proxy in
            proxy.api.setTokenReview("service-account-token", authenticated: true)
            let own = passthrough ? "service-account-token" : proxy.token()
            let users = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(own)"), ("Impersonate-User", "admin")])
            #expect(users.status == 200)
            let forwarded = try #require(proxy.api.requests.last { $0.path == "/version" })
            #expect(forwarded.header("Authorization") == "Bearer \(own)")
            #expect(!forwarded.presentedClientCertificate, "the user's request carries the user's token alone")
            if passthrough {
                // The TokenReview is the proxy's own call, and an OIDC token is impersonated: both
                // with the proxy's certificate.
                let review = try #require(proxy.api.requests.first { $0.path.hasSuffix("/tokenreviews") })
                #expect(review.presentedClientCertificate)
                let oidc = try await proxy.client.request(
                    proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
                #expect(oidc.status == 200)
                let impersonated = try #require(proxy.api.requests.last { $0.path == "/version" })
                #expect(impersonated.header("Impersonate-User") == "banyan:alice@example.com")
                #expect(impersonated.presentedClientCertificate)
            }
        }
    }

    /// A client cannot strip the proxy's impersonation headers by naming them in `Connection`
    /// (which drops the headers it names): they are added after the client's hop-by-hop headers
    /// are removed. Before, the request went on with the proxy's credential and no
    /// impersonation: as the proxy itself.
    @Test func connectionCannotNameAwayTheImpersonationHeaders() async throws {
        try await ProxyFixture.with(["--extra-user-header-client-ip"]) { proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send(
                "GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(proxy.token())\r\n"
                    + "Connection: keep-alive, Impersonate-User, Impersonate-Group, Impersonate-Extra-Remote-Client-Ip\r\n\r\n"
            )
            #expect(try await client.receive(until: "}").hasPrefix("HTTP/1.1 200"))
            try await client.close()
            let seen = try #require(proxy.api.requests.last { $0.path == "/version" })
            #expect(seen.header("Impersonate-User") == "banyan:alice@example.com")
            #expect(seen.headers.filter { $0.0.lowercased() == "impersonate-group" }.count >= 1)
            #expect(seen.header("Impersonate-Extra-Remote-Client-Ip") == "127.0.0.1")
            #expect(seen.header("Authorization") == "Bearer \(ProxyFixture.proxyToken)")
        }
    }

    /// Every request gets the 502; the log gets one line, not one per request (an outage at a
    /// moderate load was thousands of error lines a second), then one every 10 s with a count.
    @Test func unreachableAPIServerIs502Status() async throws {
        let result = try await ProxyFixture.with() { proxy in
            try await proxy.api.stop()
            for _ in 0..<4 {
                let response = try await proxy.client.request(
                    proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
                #expect(response.status == 502)
                let status = try statusBody(response)
                #expect(status["code"] as? Int == 502)
                #expect((status["message"] as? String)?.contains("unreachable") == true)
            }
            let metrics = try await ProxyProcess.runTool("/usr/bin/curl", ["-s", proxy.probeURL + "/metrics"]).stdout
            #expect(metrics.contains(#"kube_oidc_proxy_upstream_errors_total{kind="unreachable"} 4"#), "\(metrics)")
        }
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("API server unreachable") }
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("requests=1") == true)
    }

    @Test func untrustedAPIServerCertificateIs502SayingSo() async throws {
        let other = try TestCA(commonName: "unrelated CA")
        let directory = try TemporaryDirectory("unrelated-ca")
        defer { directory.remove() }
        let caFile = try other.writeCertificate(to: directory.url)
        try await ProxyFixture.with(["--certificate-authority=\(caFile)"]) { proxy in
            let response = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(response.status == 502)
            #expect(try (statusBody(response)["message"] as? String)?.contains("not trusted") == true)
        }
    }

    @Test func http2AndHTTP1BothServeOnTheTLSPort() async throws {
        try await ProxyFixture.with() { proxy in
            let token = proxy.token()
            for http2 in [true, false] {
                let output = try await ProxyProcess.runTool(
                    "/usr/bin/curl",
                    [
                        "-sS", "--cacert", proxy.certificateFile, http2 ? "--http2" : "--http1.1", "-o", "/dev/null",
                        "-w", "%{http_version} %{http_code}", "-H", "Authorization: Bearer \(token)",
                        proxy.url + "/version",
                    ])
                #expect(output.stdout == (http2 ? "2 200" : "1.1 200"), "\(output.stdout) \(output.stderr)")
            }
        }
    }

    @Test func plainHTTPOnTheTLSPortGetsAClearError() async throws {
        try await ProxyFixture.with() { proxy in
            let output = try await ProxyProcess.runTool(
                "/usr/bin/curl", ["-sS", "--max-time", "5", "http://127.0.0.1:\(proxy.port)/version"])
            #expect(output.stdout.contains("Client sent an HTTP request to an HTTPS server"))
        }
    }

    @Test func probesReportReadinessHealthAndMetrics() async throws {
        try await ProxyFixture.with() { proxy in
            var ready = try await ProxyProcess.runTool(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", proxy.probeURL + "/ready"])
            for _ in 0..<100 where ready.stdout != "200" {
                try await Task.sleep(for: .milliseconds(50))
                ready = try await ProxyProcess.runTool(
                    "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", proxy.probeURL + "/ready"])
            }
            #expect(ready.stdout == "200")
            _ = try await proxy.client.request(
                proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
            _ = try await proxy.client.request(proxy.url + "/version")
            let metrics = try await ProxyProcess.runTool("/usr/bin/curl", ["-s", proxy.probeURL + "/metrics"]).stdout
            #expect(metrics.contains(#"kube_oidc_proxy_http_requests_total{code="200",method="GET"} 1"#))
            #expect(metrics.contains(#"kube_oidc_proxy_http_requests_total{code="401",method="GET"} 1"#))
            #expect(metrics.contains(#"kube_oidc_proxy_token_verifications_total{result="ok"} 1"#))
            #expect(metrics.contains("# TYPE kube_oidc_proxy_jwks_fetches_total counter"), "\(metrics)")
            #expect(metrics.contains("kube_oidc_proxy_jwks_fetches_total 1"), "\(metrics)")
            // A method of the client's own making (HTTP/2 passes any) is counted as `other`, not
            // a series of its own: one per string would grow the registry without bound.
            for method in ["FROB", "ZAP1", "ZAP2"] {
                _ = try await ProxyProcess.runTool(
                    "/usr/bin/curl",
                    [
                        "-s", "-o", "/dev/null", "--http2", "--cacert",
                        proxy.certificateDirectory + "/kube-oidc-proxy.crt",
                        "-X", method, proxy.url + "/version",
                    ])
            }
            let after = try await ProxyProcess.runTool("/usr/bin/curl", ["-s", proxy.probeURL + "/metrics"]).stdout
            #expect(after.contains(#"kube_oidc_proxy_http_requests_total{code="401",method="other"} 3"#), "\(after)")
            #expect(!after.contains("FROB"))
            let healthz = try await ProxyProcess.runTool("/usr/bin/curl", ["-s", proxy.probeURL + "/healthz"])
            #expect(healthz.stdout == "ok")
        }
    }

    @Test func sigtermExitsZero() async throws {
        let result = try await ProxyFixture.with { _ in
        }
        #expect(result.status == 0, "\(result.stderr)")
    }
}
