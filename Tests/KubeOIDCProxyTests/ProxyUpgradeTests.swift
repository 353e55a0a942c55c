import Foundation
import TestSupport
import Testing

/// `Connection: Upgrade` (exec, attach, port-forward) through the built binary: authenticated
/// and impersonated, then a byte tunnel both ways.
@Suite(.serialized) struct ProxyUpgradeTests {
    func upgradeRequest(token: String?, protocolName: String = "SPDY/3.1", extra: String = "") -> String {
        var lines = [
            "POST /api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true&stdout=true HTTP/1.1",
            "Host: 127.0.0.1", "Connection: Upgrade", "Upgrade: \(protocolName)",
            "X-Stream-Protocol-Version: v4.channel.k8s.io",
        ]
        if let token { lines.append("Authorization: Bearer \(token)") }
        if !extra.isEmpty { lines.append(extra) }
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// A tunnel is no idle connection: an exec silent for longer than the idle timeout stays up.
    @Test func aQuietTunnelOutlivesTheIdleTimeout() async throws {
        try await ProxyFixture.with(["--idle-connection-timeout=300ms"]) { proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send(upgradeRequest(token: proxy.token()))
            #expect(try await client.receive(until: "\r\n\r\n").hasPrefix("HTTP/1.1 101"))
            try await Task.sleep(for: .seconds(1))
            #expect(!client.isClosed)
            try await client.send("still here")
            #expect(try await client.receive(until: "here") == "still here")
            try await client.close()
        }
    }

    @Test func upgradeIsImpersonatedThenTunnelsBytesBothWays() async throws {
        try await ProxyFixture.with { proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send(upgradeRequest(token: proxy.token()))
            let head = try await client.receive(until: "\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
            #expect(head.lowercased().contains("x-stream-protocol-version: v4.channel.k8s.io"))
            try await client.send("hello through the tunnel")
            #expect(try await client.receive(until: "tunnel") == "hello through the tunnel")
            let big = String(repeating: "0123456789", count: 50_000)
            try await client.send(big + "END")
            #expect(try await client.receive(until: "END").count == big.count + 3)

            let seen = try #require(proxy.api.upgrades.requests.first)
            #expect(seen.header("Impersonate-User") == "banyan:alice@example.com")
            #expect(seen.header("Authorization") == "Bearer \(ProxyFixture.proxyToken)")
            #expect(seen.header("Upgrade") == "SPDY/3.1")
            #expect(seen.uri.hasPrefix("/api/v1/namespaces/default/pods/web/exec"))
            #expect(proxy.api.upgrades.openTunnels == 1)

            try await client.close()
            for _ in 0..<200 where proxy.api.upgrades.openTunnels > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(proxy.api.upgrades.openTunnels == 0, "closing the client did not close the upstream side")
        }
    }

    @Test func upstreamClosingTheTunnelClosesTheClient() async throws {
        try await ProxyFixture.with { proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send(upgradeRequest(token: proxy.token()))
            #expect(try await client.receive(until: "\r\n\r\n").hasPrefix("HTTP/1.1 101"))
            proxy.api.upgrades.closeTunnels()
            for _ in 0..<300 where !client.isClosed { try await Task.sleep(for: .milliseconds(10)) }
            #expect(client.isClosed)
        }
    }

    /// Sends an upgrade request on a connection of its own; returns the connection and the
    /// proxy's answer (a `Status`, ending in `}`).
    func answer(
        to request: String, on proxy: ProxyFixture
    ) async throws -> (client: RawTLSClient, response: String) {
        let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
        try await client.send(request)
        return (client, try await client.receive(until: "}"))
    }

    @Test func upgradeWithoutTokenIs401AndNeverTunnels() async throws {
        try await ProxyFixture.with { proxy in
            let (client, response) = try await answer(to: upgradeRequest(token: nil), on: proxy)
            #expect(response.hasPrefix("HTTP/1.1 401"), "\(response)")
            #expect(response.contains(#""kind":"Status""#))
            #expect(proxy.api.upgrades.requests.isEmpty)
            try await client.close()
        }
    }

    @Test func upgradeWithClientImpersonationIs403() async throws {
        try await ProxyFixture.with { proxy in
            let (client, response) = try await answer(
                to: upgradeRequest(token: proxy.token(), extra: "Impersonate-User: root"), on: proxy)
            #expect(response.hasPrefix("HTTP/1.1 403"), "\(response)")
            #expect(proxy.api.upgrades.requests.isEmpty)
            try await client.close()
        }
    }

    /// After a request asking to switch protocols the HTTP/1.1 decoder parses nothing more on
    /// its connection: when the switch does not happen (here the proxy's own 401), the
    /// connection closes, where it used to stay open and keep every byte sent after, unbounded.
    @Test func aConnectionWhoseUpgradeWasRefusedIsClosed() async throws {
        try await ProxyFixture.with { proxy in
            let (client, response) = try await answer(to: upgradeRequest(token: nil), on: proxy)
            #expect(response.hasPrefix("HTTP/1.1 401"), "\(response)")
            for _ in 0..<250 where !client.isClosed { try await Task.sleep(for: .milliseconds(20)) }
            #expect(client.isClosed)
            try? await client.close()
        }
    }

    /// An exec's tunnel is long-running to the API server: `RequestReceived` and `ResponseStarted`
    /// when the 101 goes out, `ResponseComplete` when it closes. A tunnel to any other
    /// subresource (a VM's console) gets no `ResponseStarted`, as the API server's hijacked
    /// writer records none for it.
    @Test func tunnelsAreAuditedWithResponseStartedOnlyWhenLongRunning() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let (policy, log) = try ProxyAuditLogTests.metadataForEveryRequest(in: directory)
        try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log)"]) { proxy in
            let console = upgradeRequest(token: proxy.token()).replacingOccurrences(
                of: "/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true&stdout=true",
                with: "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm/console")
            for (request, expected) in [
                (upgradeRequest(token: proxy.token()), ["RequestReceived", "ResponseStarted", "ResponseComplete"]),
                (console, ["RequestReceived", "ResponseComplete"]),
            ] {
                let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
                try await client.send(request)
                let head = try await client.receive(until: "\r\n\r\n")
                #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
                let auditID = try #require(
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("audit-id:") }?
                        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces))
                try await client.close()
                var stages: [String] = []
                for _ in 0..<250 where stages.count < expected.count {
                    try await Task.sleep(for: .milliseconds(20))
                    stages = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
                        .filter { $0.contains(auditID) }
                        .compactMap { line in
                            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["stage"]
                                as? String
                        }
                }
                #expect(stages == expected, "\(head)")
            }
        }
    }

    /// Its event carries the answer's `Status`, as the API server records the error it wrote.
    @Test func upgradeTheAPIServerRefusesIsAnsweredAsItAnswered() async throws {
        let directory = try TemporaryDirectory("audit")
        defer { directory.remove() }
        let (policy, log) = try ProxyAuditLogTests.metadataForEveryRequest(in: directory)
        try await ProxyFixture.with(["--audit-policy-file=\(policy)", "--audit-log-path=\(log)"]) { proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            // An upgrade the fake does not speak is answered as a plain request: 404 Status.
            try await client.send(upgradeRequest(token: proxy.token(), protocolName: "SPDY/9"))
            let response = try await client.receive(until: "}")
            #expect(response.hasPrefix("HTTP/1.1 404"), "\(response)")
            #expect(response.contains("NotFound"))
            try await client.close()
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(
                text.contains(#""responseStatus":{"metadata":{},"status":"Failure","reason":"NotFound","code":404}"#),
                "\(text)")
        }
    }

    @Test func webSocketBearerSubprotocolAuthenticatesAndIsNotForwarded() async throws {
        try await ProxyFixture.with { proxy in
            let encoded = Data(proxy.token().utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send(
                upgradeRequest(
                    token: nil, protocolName: "websocket",
                    extra: "Sec-WebSocket-Protocol: v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.\(encoded)"
                ))
            let head = try await client.receive(until: "\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
            let seen = try #require(proxy.api.upgrades.requests.first)
            #expect(seen.header("Sec-WebSocket-Protocol") == "v5.channel.k8s.io")
            #expect(seen.header("Impersonate-User") == "banyan:alice@example.com")
            try await client.close()
        }
    }
}
