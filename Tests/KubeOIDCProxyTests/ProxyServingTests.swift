import Foundation
import TestSupport
import Testing

/// Serving details: timeouts, TLS versions, health checks, the generated certificate.
@Suite(.serialized) struct ProxyServingTests {
    func curl(_ arguments: [String]) async throws -> ProxyProcess.Result {
        try await ProxyProcess.runTool("/usr/bin/curl", ["-sS"] + arguments)
    }

    @Test func requestOutlivingRequestTimeoutIs504Status() async throws {
        try await ProxyFixture.with(["--request-timeout=500ms"]) { proxy in
            let started = ContinuousClock.now
            let response = try await proxy.client.request(
                proxy.url + "/hang", headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(response.status == 504)
            #expect(response.text.contains(#""code":504"#))
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    /// An API server reached by address whose certificate names it otherwise: the kubeconfig's
    /// `tls-server-name` is the name checked and sent in SNI, for plain requests (HTTP/1.1) and
    /// watches (HTTP/2) alike; without it the API server is not trusted (502).
    @Test(arguments: [true, false])
    func kubeconfigTLSServerNameIsTheNameTheAPIServerIsCheckedAgainst(withServerName: Bool) async throws {
        let directory = try TemporaryDirectory("kc")
        defer { directory.remove() }
        let kubeconfig = directory.file("kubeconfig.yaml")
        try await ProxyFixture.with(
            apiServerName: "kubernetes.cluster.internal",
            upstream: { api in
                try """
                apiVersion: v1
                kind: Config
                clusters:
                - name: api
                  cluster:
                    server: \(api.url)
                    certificate-authority: \(api.caFile)
                \(withServerName ? "    tls-server-name: kubernetes.cluster.internal" : "")
                users:
                - name: proxy
                  user: {token: \(ProxyFixture.proxyToken)}
                contexts:
                - name: api
                  context: {cluster: api, user: proxy}
                current-context: api
                """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                return ["--kubeconfig=\(kubeconfig)"]
            }
        ) { proxy in
            let bearer = [("Authorization", "Bearer \(proxy.token())")]
            let list = try await proxy.client.request(proxy.url + "/api/v1/namespaces/default/pods", headers: bearer)
            guard withServerName else {
                #expect(list.status == 502)
                #expect(list.text.contains("not trusted"), "\(list.text)")
                #expect(proxy.api.requests.isEmpty)
                return
            }
            #expect(list.status == 200)
            let watch = try await proxy.client.open(
                proxy.url + "/api/v1/namespaces/default/pods?watch=true", headers: bearer)
            #expect(watch.status == 200)
            for _ in 0..<200 where proxy.api.openWatches == 0 { try await Task.sleep(for: .milliseconds(10)) }
            proxy.api.sendWatchEvent(#"{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a"}}}"#)
            #expect(try await watch.next().map { String(decoding: $0, as: UTF8.self) }?.contains("ADDED") == true)
            #expect(proxy.api.requests.map(\.version) == ["HTTP/1.1", "HTTP/2.0"])
            proxy.api.endWatches()
        }
    }

    @Test func minimumTLSVersionIsEnforced() async throws {
        try await ProxyFixture.with(["--tls-min-version=VersionTLS13"]) { proxy in
            let old = try await curl(["--cacert", proxy.certificateFile, "--tls-max", "1.2", proxy.url + "/version"])
            #expect(old.status != 0, "a TLS 1.2 client was accepted")
            let current = try await curl(
                ["--cacert", proxy.certificateFile, "-o", "/dev/null", "-w", "%{http_code}", proxy.url + "/version"])
            #expect(current.stdout == "401")
        }
    }

    @Test func bareTCPHealthChecksAreCountedNotLogged() async throws {
        let result = try await ProxyFixture.with { proxy in
            for _ in 0..<3 {
                let socket = try RawTCP.connect(port: proxy.port)
                RawTCP.close(socket)
            }
            var metrics = ""
            for _ in 0..<100 where !metrics.contains("kube_oidc_proxy_bare_tcp_connections_total 3") {
                try await Task.sleep(for: .milliseconds(20))
                metrics = try await curl([proxy.probeURL + "/metrics"]).stdout
            }
            #expect(metrics.contains("kube_oidc_proxy_bare_tcp_connections_total 3"))
            #expect(metrics.contains("kube_oidc_proxy_tls_handshake_failures_total 0"))
        }
        let loud = result.stderr.split(separator: "\n").filter {
            $0.contains(" error kube-oidc-proxy") || $0.contains(" warning kube-oidc-proxy")
        }
        #expect(loud.isEmpty, "a bare TCP connect was logged above debug: \(loud)")
    }

    /// Once SIGTERM stops new connections, `/ready` fails while open exchanges drain, so a load
    /// balancer that probes it stops sending connections to the closed port; `/healthz` holds.
    @Test func readinessFailsWhileTheProxyDrains() async throws {
        try await ProxyFixture.with { proxy in
            func status(_ path: String) async throws -> String {
                try await ProxyProcess.runTool(
                    "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", proxy.probeURL + path]
                ).stdout
            }
            let watch = try await proxy.client.open(
                proxy.url + "/api/v1/namespaces/team/pods?watch=true",
                headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(watch.status == 200)
            for _ in 0..<500 where proxy.api.openWatches < 1 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await status("/ready") == "200")
            kill(proxy.process.pid, SIGTERM)
            var ready = "200"
            for _ in 0..<100 where ready == "200" {
                try await Task.sleep(for: .milliseconds(50))
                ready = try await status("/ready")
            }
            #expect(ready == "503", "the watch keeps the proxy draining, not ready")
            #expect(try await status("/healthz") == "200")
            proxy.api.endWatches()
            // Its drain done, it exits by itself (the fixture's own SIGTERM would be a second).
            for _ in 0..<250 where proxy.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// A second SIGTERM (or Ctrl-C) during the drain exits at once with status 1, as the
    /// Kubernetes components do; it used to be ignored, and the drain ran its full 30 s.
    @Test func aSecondSignalDuringTheDrainExitsAtOnce() async throws {
        let proxy = try await ProxyFixture.start()
        let watch = try await proxy.client.open(
            proxy.url + "/api/v1/namespaces/team/pods?watch=true",
            headers: [("Authorization", "Bearer \(proxy.token())")])
        #expect(watch.status == 200)
        for _ in 0..<500 where proxy.api.openWatches < 1 { try await Task.sleep(for: .milliseconds(10)) }
        kill(proxy.process.pid, SIGTERM)
        for _ in 0..<250 where !proxy.process.stderr.contains("draining") {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(proxy.process.isRunning, "the open watch holds the drain")
        let signalled = ContinuousClock.now
        kill(proxy.process.pid, SIGINT)
        for _ in 0..<250 where proxy.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!proxy.process.isRunning)
        #expect(ContinuousClock.now - signalled < .seconds(5))
        let result = try await proxy.stop()
        #expect(result.status == 1)
        #expect(result.stderr.contains("second signal, exiting without finishing the shutdown"))
    }

    /// SIGTERM ends an HTTP/2 connection with a GOAWAY (so the client opens no more streams on
    /// it and knows which of its requests were taken), not a bare close that could cut a request
    /// it had just sent; the open watch goes on until it ends, then the connection closes.
    @Test func drainingSendsHTTP2ClientsAGoAway() async throws {
        let directory = try TemporaryDirectory("nghttp")
        defer { directory.remove() }
        let output = directory.file("frames.txt")
        FileManager.default.createFile(atPath: output, contents: nil)
        try await ProxyFixture.with { proxy in
            // nghttp prints every frame it receives; it does not check the server's certificate.
            let nghttp = Process()
            nghttp.executableURL = URL(fileURLWithPath: "/usr/bin/nghttp")
            nghttp.arguments = [
                "-v", "-n", "-H", "authorization: Bearer \(proxy.token())",
                proxy.url + "/api/v1/namespaces/team/pods?watch=true",
            ]
            nghttp.standardOutput = FileHandle(forWritingAtPath: output)
            nghttp.standardError = FileHandle.nullDevice
            try nghttp.run()
            defer { if nghttp.isRunning { nghttp.terminate() } }
            for _ in 0..<500 where proxy.api.openWatches < 1 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(proxy.api.openWatches == 1)
            let frames = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
            #expect(!frames().contains("GOAWAY"))
            kill(proxy.process.pid, SIGTERM)
            for _ in 0..<250 where !frames().contains("recv GOAWAY frame") {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(frames().contains("recv GOAWAY frame"), "\(frames())")
            // The watch was taken before the GOAWAY: it goes on, and when it ends the connection
            // closes (nghttp exits).
            #expect(nghttp.isRunning)
            proxy.api.endWatches()
            for _ in 0..<250 where nghttp.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!nghttp.isRunning)
            // Its drain done, it exits by itself (the fixture's own SIGTERM would be a second).
            for _ in 0..<250 where proxy.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// The proxy's own answer to a HEAD is its head alone: a body after it would be read as the
    /// start of the next response on the keep-alive connection.
    @Test func aHEADRefusalCarriesNoBody() async throws {
        try await ProxyFixture.with { proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send("HEAD /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            // Everything the answer brings has arrived: the head, and a body if one was sent.
            try await Task.sleep(for: .milliseconds(300))
            let head = try await client.receive(until: "\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 401"), "\(head)")
            #expect(head.hasSuffix("\r\n\r\n"), "nothing after the head: \(head)")
            try await client.send("GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let next = try await client.receive(until: "}")
            #expect(next.hasPrefix("HTTP/1.1 401"), "the GET's answer begins where the HEAD's ended: \(next)")
            try await client.close()
        }
    }

    /// An upload refused before its body was read (no token: 401) reaches the client as a 401
    /// over HTTP/1.1, even when the client reads it late: a close with the client's bytes unread
    /// would make the kernel reset the connection and destroy the answer in the client's buffer.
    /// (swift-nio-ssl's close waits for the client's close_notify, reading meanwhile, so none
    /// are left unread.) This client sends part of its body, then waits a second before reading.
    @Test func anUploadRefusedEarlyGetsItsAnswerNotAReset() async throws {
        let script = """
            import socket, ssl, sys, time
            context = ssl.create_default_context(cafile=sys.argv[1])
            raw = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
            conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
            conn.sendall(b"PUT /api/v1/namespaces/default/configmaps/big HTTP/1.1\\r\\nHost: x\\r\\n"
                         b"Content-Length: 8388608\\r\\n\\r\\n" + b"a" * 262144)
            time.sleep(1)
            try:
                conn.sendall(b"a" * 262144)
            except OSError:
                pass
            try:
                print(conn.recv(12).decode())
            except OSError as error:
                print("error", error)
            """
        try await ProxyFixture.with { proxy in
            let result = try await ProxyProcess.runTool(
                "/usr/bin/python3", ["-c", script, proxy.certificateFile, String(proxy.port)])
            #expect(result.stdout.hasPrefix("HTTP/1.1 401"), "\(result)")
        }
    }

    /// curl asks before uploading over 1 MB on HTTP/1.1 (`Expect: 100-continue`): the proxy
    /// answers `100 Continue`, where it used to leave curl to wait a second for nothing.
    @Test func aClientThatExpectsContinueIsToldToGoOn() async throws {
        let directory = try TemporaryDirectory("upload")
        defer { directory.remove() }
        let file = directory.file("big.json")
        try Data(
            #"{"kind":"ConfigMap","apiVersion":"v1","data":{"a":""#.utf8 + Array(repeating: 0x61, count: 2 << 20)
                + #""}}"#.utf8
        )
        .write(to: URL(fileURLWithPath: file))
        try await ProxyFixture.with { proxy in
            let result = try await ProxyProcess.runTool(
                "/usr/bin/curl",
                [
                    "-sv", "-o", "/dev/null", "-w", "%{http_code}", "--http1.1", "--expect100-timeout", "10",
                    "--cacert", proxy.certificateFile, "-H", "Authorization: Bearer \(proxy.token())", "-H",
                    "Content-Type: application/json", "-X", "PUT", "--data-binary", "@" + file,
                    proxy.url + "/api/v1/namespaces/default/configmaps/big",
                ])
            #expect(result.stdout == "200", "\(result.stdout)")
            #expect(result.stderr.contains("< HTTP/1.1 100 Continue"), "\(result.stderr.suffix(2000))")
            #expect(proxy.api.requests.last?.header("Expect") == nil)
        }
    }

    /// A connection that never finishes its TLS handshake is closed (32 s by default, the API
    /// server's read-header timeout; shortened here): connections that send nothing would
    /// otherwise hold a descriptor each forever, unauthenticated.
    @Test func aConnectionThatNeverHandshakesIsClosed() async throws {
        try await ProxyFixture.with(["--tls-handshake-timeout=300ms"]) { proxy in
            let socket = try RawTCP.connect(port: proxy.port)
            defer { RawTCP.close(socket) }
            #expect(RawTCP.send(socket, [0x16, 0x03]), "half a TLS record header, then nothing")
            let started = ContinuousClock.now
            let read = await RawTCP.receive(socket, timeout: .seconds(10))
            #expect(read == 0, "the proxy closed the connection (read \(read))")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    /// A TRACE carries no content, and the encoder to the API server frames it as bodiless: a
    /// body after its head went up unframed, and the API server read it as the start of another
    /// request that the next request on the shared connection (another user's, with the proxy's
    /// token) completed. A TRACE or CONNECT with a body is refused instead, over HTTP/1.1 and 2.
    @Test func aTraceWithABodyIsRefusedNotSmuggled() async throws {
        try await ProxyFixture.with { proxy in
            let smuggled = "DELETE /api/v1/namespaces/kube-system HTTP/1.1\r\nImpersonate-User: system:admin\r\nX-Eat: "
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await client.send(
                "TRACE /version HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(proxy.token())\r\n"
                    + "Content-Length: \(smuggled.utf8.count)\r\n\r\n" + smuggled)
            let answer = try await client.receive(until: "}")
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains("a TRACE request cannot carry a body"))
            try await client.close()
            let http2 = try await ProxyProcess.runTool(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2", "--cacert", proxy.certificateFile,
                    "-H", "Authorization: Bearer \(proxy.token())", "-X", "TRACE", "--data-binary", smuggled,
                    proxy.url + "/version",
                ])
            #expect(http2.stdout == "400", "\(http2.stdout)")
            // Other requests after it, on every event loop's upstream connection.
            for _ in 0..<6 {
                let next = try await proxy.client.request(
                    proxy.url + "/version", headers: [("Authorization", "Bearer \(proxy.token())")])
                #expect(next.status == 200)
            }
            let methods = proxy.api.requests.map(\.method)
            #expect(!methods.contains("DELETE") && !methods.contains("TRACE"), "\(methods)")
            // Without a body a TRACE goes on as any request.
            let bodiless = try await proxy.client.request(
                proxy.url + "/version", method: .TRACE, headers: [("Authorization", "Bearer \(proxy.token())")])
            #expect(proxy.api.requests.last?.method == "TRACE", "\(bodiless.status)")
        }
    }

    /// An HTTP/1.1 connection waiting for a request is closed, as the API server's `http.Server`
    /// closes it: the first request's head is due within the read-header timeout of the
    /// handshake (32 s, `--tls-handshake-timeout`), each next one within the idle timeout (90 s)
    /// of the last response. Shortened here.
    @Test func idleHTTP1ConnectionsAreClosed() async throws {
        try await ProxyFixture.with(["--tls-handshake-timeout=2s", "--idle-connection-timeout=500ms"]) { proxy in
            let silent = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            let answered = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            try await answered.send("GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try await answered.receive(until: "}").hasPrefix("HTTP/1.1 401"))
            for _ in 0..<500 where !(silent.isClosed && answered.isClosed) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(silent.isClosed, "no request after the handshake")
            #expect(answered.isClosed, "no request after the last response")

            // Requests closer together than the idle timeout keep a connection for longer than it.
            let busy = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            for _ in 0..<6 {
                try await busy.send("GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(try await busy.receive(until: "}").hasPrefix("HTTP/1.1 401"))
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(!busy.isClosed)
            try await busy.close()
        }
    }

    /// An HTTP/2 connection that opens no stream is closed after the idle timeout too: the
    /// connection manager's own idle timer starts only once a stream has closed.
    @Test func idleHTTP2ConnectionsAreClosed() async throws {
        try await ProxyFixture.with(["--idle-connection-timeout=300ms"]) { proxy in
            let silent = try await RawTLSClient.connect(
                port: proxy.port, caFile: proxy.certificateFile, applicationProtocols: ["h2"])
            for _ in 0..<250 where !silent.isClosed { try await Task.sleep(for: .milliseconds(20)) }
            #expect(silent.isClosed, "an HTTP/2 connection that opened no stream")
        }
    }

    /// The probe port answers one request per connection, then closes it. NIO's pipelining
    /// helper read the next request as soon as a response was queued, so a client that pipelined
    /// `GET /metrics` without reading had the proxy queue expositions without bound.
    @Test func probeConnectionsAnswerOneRequestThenClose() async throws {
        try await ProxyFixture.with { proxy in
            let socket = try RawTCP.connect(port: proxy.probePort)
            defer { RawTCP.close(socket) }
            let pipelined = String(repeating: "GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n", count: 50)
            #expect(RawTCP.send(socket, Array(pipelined.utf8)))
            let (bytes, closed) = await RawTCP.receiveUntilClosed(socket, timeout: .seconds(10))
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(closed)
            #expect(text.components(separatedBy: "HTTP/1.1 200").count == 2, "\(text)")
            #expect(text.lowercased().contains("connection: close"))
        }
    }

    /// Accepted connections carry TCP keep-alive, as Go's listener sets it (15 s): a client that
    /// vanished without a FIN (a laptop asleep mid-watch) is let go within minutes.
    @Test func acceptedConnectionsAreKeptAlive() async throws {
        try await ProxyFixture.with { proxy in
            let client = try await RawTLSClient.connect(port: proxy.port, caFile: proxy.certificateFile)
            defer { Task { try? await client.close() } }
            let portHex = String(format: "%04X", proxy.port)
            // /proc/net/tcp: the proxy's end is the established socket whose local port is the
            // proxy's; its timer field ("tr", before the colon) is 2 while keep-alive is armed.
            // Read with cat: /proc files report no size, and a read that trusts it can stop at
            // the first page, which a busy machine's table outgrows.
            // Read until it settles: while the handshake's last bytes wait for their ACK (a loaded
            // machine), the timer is the retransmit one (1); without keep-alive it would stay 0.
            var table = ""
            var ends: [[Substring]] = []
            for _ in 0..<50 {
                table = try await ProxyProcess.runTool("/bin/cat", ["/proc/net/tcp"]).stdout
                ends = []
                for line in table.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: " ")
                    guard fields.count > 5, fields[1].hasSuffix(":" + portHex), fields[3] == "01" else { continue }
                    ends.append(fields)
                }
                if !ends.isEmpty && ends.allSatisfy({ $0[5].hasPrefix("02:") }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!ends.isEmpty, "\(table)")
            #expect(ends.allSatisfy { $0[5].hasPrefix("02:") }, "\(ends)")
        }
    }

    @Test func generatedCertificateHasLoopbackNamesAndIsReusedOnRestart() async throws {
        // A directory of the test's own: the fixture keeps one it was given.
        let certificates = try TemporaryDirectory("certs")
        defer { certificates.remove() }
        let directory = certificates.file("generated")
        let issuer = try await TestIssuer.start()
        var first = ""
        try await ProxyFixture.with(["--cert-dir=\(directory)"], issuer: issuer) { proxy in
            first = try String(contentsOfFile: proxy.certificateFile, encoding: .utf8)
            // curl checks 127.0.0.1 against the SANs.
            let ok = try await curl([
                "--cacert", proxy.certificateFile, "-o", "/dev/null", "-w", "%{http_code}", proxy.url + "/version",
            ])
            #expect(ok.stdout == "401")
        }
        let again = try await TestIssuer.start()
        try await ProxyFixture.with(["--cert-dir=\(directory)"], issuer: again) { proxy in
            let reused = try String(contentsOfFile: directory + "/kube-oidc-proxy.crt", encoding: .utf8)
            #expect(reused == first)
            _ = proxy
        }
    }
}

/// A plain TCP connect and close, as a load balancer's health check does.
enum RawTCP {
    static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        return socket
    }

    static func close(_ socket: Int32) {
        _ = Glibc.close(socket)
    }

    static func send(_ socket: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) } == bytes.count
    }

    /// Everything received until the peer closes (`closed`) or `timeout` passes without bytes.
    static func receiveUntilClosed(_ socket: Int32, timeout: Duration) async -> (bytes: [UInt8], closed: Bool) {
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, 4096, 0) }
                    if count <= 0 {
                        continuation.resume(returning: (received, count == 0))
                        return
                    }
                    received += buffer.prefix(count)
                }
            }
        }
    }

    /// Waits up to `timeout` for bytes or the peer's close: what `recv` returned (0 at the close).
    static func receive(_ socket: Int32, timeout: Duration) async -> Int {
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var buffer = [UInt8](repeating: 0, count: 64)
                continuation.resume(returning: buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, 64, 0) })
            }
        }
    }
}
