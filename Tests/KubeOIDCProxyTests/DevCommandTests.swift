import Foundation
import TestSupport
import Testing

/// `kube-oidc-proxy dev` as a user runs it: the built binary, real kubectl, real TLS.
@Suite(.serialized) struct DevCommandTests {
    /// A running `dev` and the kubeconfig it wrote. Always `stop()` it.
    struct Running {
        let process: ProxyProcess
        let kubeconfig: String
        let stateDirectory: String

        static func start(_ flags: [String] = []) async throws -> Running {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dev-\(UUID())").path
            let process = try ProxyProcess.start(["dev", "--state-dir=\(directory)"] + flags)
            let deadline = ContinuousClock.now + .seconds(60)
            while !process.stdout.contains("Try:") {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    let result = try await process.terminate(signal: SIGKILL)
                    try? FileManager.default.removeItem(atPath: directory)
                    throw ProxyProcess.ProcessExited(log: result.stdout + result.stderr)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            return Running(process: process, kubeconfig: directory + "/kubeconfig", stateDirectory: directory)
        }

        /// Stops `dev` and removes its state directory.
        func stop(signal: Int32 = SIGINT) async throws -> ProxyProcess.Result {
            defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
            return try await process.terminate(signal: signal, timeout: .seconds(20))
        }

        /// Runs `body`, then stops `dev` with SIGINT whatever happened; returns how it exited.
        static func with(_ flags: [String] = [], _ body: (Running) async throws -> Void) async throws
            -> ProxyProcess.Result
        {
            let running = try await start(flags)
            do {
                try await body(running)
            } catch {
                let result = try await running.stop()
                Issue.record("dev output:\n\(result.stdout)\n\(result.stderr.suffix(3000))")
                throw error
            }
            return try await running.stop()
        }
    }

    static func userInfo(_ review: ProxyProcess.Result) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(review.stdout.utf8)) as? [String: Any]
        return try #require((object?["status"] as? [String: Any])?["userInfo"] as? [String: Any], "\(review.stdout)")
    }

    @Test func kubectlSeesTheSampleUserThroughTheProxyAndCtrlCStopsCleanly() async throws {
        let kubectl = try #require(Kubectl.find(), "kubectl is not installed")
        let result = try await Running.with { dev in
            let review = try await kubectl.selfSubjectReview(kubeconfig: dev.kubeconfig)
            #expect(review.status == 0, "\(review.stderr)")
            let user = try Self.userInfo(review)
            #expect(user["username"] as? String == "banyan:dev@example.com")
            #expect(user["groups"] as? [String] == ["banyan:admin", "banyan:dev", "system:authenticated"])

            if await kubectl.hasAuthWhoami {
                let whoami = try await kubectl.run(["--kubeconfig", dev.kubeconfig, "auth", "whoami"])
                #expect(whoami.status == 0, "\(whoami.stderr)")
                #expect(whoami.stdout.contains("banyan:dev@example.com"), "\(whoami.stdout)")
                #expect(whoami.stdout.contains("[banyan:admin banyan:dev system:authenticated]"), "\(whoami.stdout)")
            }

            let pods = try await kubectl.run(["--kubeconfig", dev.kubeconfig, "get", "pods"])
            #expect(pods.status == 0, "\(pods.stderr)")
            let lines = pods.stdout.split(separator: "\n").map {
                $0.split(separator: " ", omittingEmptySubsequences: true)
            }
            #expect(lines.first?.prefix(5) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "\(pods.stdout)")
            #expect(lines.dropFirst().map { $0.first } == ["hello-web-0", "hello-worker-0"], "\(pods.stdout)")
            #expect(lines.dropFirst().allSatisfy { $0.count > 2 && $0[2] == "Running" }, "\(pods.stdout)")

            let json = try await kubectl.run(["--kubeconfig", dev.kubeconfig, "get", "pods", "-o", "json"])
            let list = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect((list?["items"] as? [Any])?.count == 2, "\(json.stderr)")

            let namespaces = try await kubectl.run(["--kubeconfig", dev.kubeconfig, "get", "namespaces"])
            #expect(namespaces.stdout.contains("kube-system"), "\(namespaces.stderr)")

            let sockets = ListeningSockets.of(pid: dev.process.pid)
            #expect(sockets.count >= 4, "proxy, probes, issuer and API server: \(sockets)")
            #expect(sockets.allSatisfy { $0.isLoopback }, "listening beyond loopback: \(sockets)")

            // The banner's ports are the ones listening.
            for port in sockets.map(\.port) {
                #expect(dev.process.stdout.contains("127.0.0.1:\(port)"), "port \(port) not announced")
            }
            let mode = try FileManager.default.attributesOfItem(atPath: dev.kubeconfig)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(result.stderr.contains("stopped"))
    }

    @Test func userAndRolesChooseTheSampleUserAndTheBannersCheckTokenLineAcceptsIt() async throws {
        let kubectl = try #require(Kubectl.find(), "kubectl is not installed")
        let directory = try TemporaryDirectory("dev-kc")
        defer { directory.remove() }
        let output = directory.file("kubeconfig")
        let result = try await Running.with([
            "--user=alice@example.com", "--roles=ops,audit", "--kubeconfig-out=\(output)",
        ]) {
            dev in
            #expect(dev.process.stdout.contains("  kubectl --kubeconfig \(output) auth whoami\n"))
            let user = try Self.userInfo(try await kubectl.selfSubjectReview(kubeconfig: output))
            #expect(user["username"] as? String == "banyan:alice@example.com")
            #expect(user["groups"] as? [String] == ["banyan:ops", "banyan:audit", "system:authenticated"])

            let line = try #require(
                dev.process.stdout.split(separator: "\n").first { $0.contains("kube-oidc-proxy check-token") })
            let words = line.split(separator: " ").map(String.init).drop { $0 != "kube-oidc-proxy" }.dropFirst()
            let check = try await ProxyProcess.run(Array(words))
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(
                check.stdout.hasPrefix("ACCEPTED: requests with this token are forwarded as banyan:alice@example.com"))
        }
        #expect(result.status == 0)
    }

    @Test func sigtermStopsItCleanlyToo() async throws {
        let running = try await Running.start()
        let result = try await running.stop(signal: SIGTERM)
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
    }

    @Test func helpListsTheFlagsAndABadFlagIsOneLineWithStatus2() async throws {
        let help = try await ProxyProcess.run(["dev", "--help"])
        #expect(help.status == 0)
        for flag in ["--user", "--roles", "--kubeconfig-out", "--secure-port", "--state-dir"] {
            #expect(help.stdout.contains(flag))
        }
        let bad = try await ProxyProcess.run(["dev", "--no-such-flag"])
        #expect(bad.status == 2)
        #expect(bad.stderr == "kube-oidc-proxy dev: unknown flag: --no-such-flag\n")
        let owned = try await ProxyProcess.run(["dev", "--", "--bind-address=0.0.0.0"])
        #expect(owned.status == 2)
        #expect(owned.stderr.contains("--bind-address"))
        #expect(owned.stderr.split(separator: "\n").count == 1)
    }
}
