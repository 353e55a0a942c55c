import Foundation
import Testing

/// The built `kube-oidc-proxy` executable as a child process.
public final class ProxyProcess: Sendable {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// The executable SwiftPM built next to the test bundle.
    public static var executable: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On Linux the test runner is `<products>/<package>PackageTests.xctest`; elsewhere a bundle.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("kube-oidc-proxy").path)
            && directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("kube-oidc-proxy")
    }

    private let process: Process
    private let stdoutFile: URL
    private let stderrFile: URL

    /// Runs to completion and returns status and output; `input` becomes standard input.
    public static func run(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil) throws
        -> Result
    {
        let child = try start(arguments, environment: environment, input: input)
        child.process.waitUntilExit()
        return child.result()
    }

    public static func start(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil)
        throws -> ProxyProcess
    {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let directory = FileManager.default.temporaryDirectory
        let stdoutFile = directory.appendingPathComponent("proxy-\(UUID().uuidString).out")
        let stderrFile = directory.appendingPathComponent("proxy-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        if let input {
            let inputFile = directory.appendingPathComponent("proxy-\(UUID().uuidString).in")
            try input.write(to: inputFile, atomically: true, encoding: .utf8)
            process.standardInput = try FileHandle(forReadingFrom: inputFile)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return ProxyProcess(process: process, stdoutFile: stdoutFile, stderrFile: stderrFile)
    }

    private init(process: Process, stdoutFile: URL, stderrFile: URL) {
        self.process = process
        self.stdoutFile = stdoutFile
        self.stderrFile = stderrFile
    }

    public var isRunning: Bool { process.isRunning }

    public var pid: Int32 { process.processIdentifier }

    /// A line of `/proc/<pid>/status` in KiB (`VmHWM` is the peak resident set, `VmRSS` the current one).
    public func memoryKiB(_ field: String = "VmHWM") -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// Standard error so far (the proxy's log).
    public var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    /// Standard output so far.
    public var stdout: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }

    /// Sends `signal` (SIGTERM by default) and waits up to `timeout` for the exit.
    public func terminate(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) async throws -> Result {
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return Result(status: -1, stdout: "", stderr: stderr + "\n(killed after timeout)")
        }
        return result()
    }

    private func result() -> Result {
        Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}

extension ProxyProcess {
    /// Waits until the log shows `marker` and returns the port logged as `address=HOST:PORT` on that line.
    public func waitForPort(logged marker: String, timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in stderr.split(separator: "\n") where line.contains(marker) {
                if let range = line.range(of: #"address=[^ ]*:(\d+)"#, options: .regularExpression),
                    let port = Int(line[range].split(separator: ":").last ?? "")
                {
                    return port
                }
            }
            guard isRunning else { throw ProcessExited(log: stderr) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessExited(log: "timed out waiting for \(marker)\n" + stderr)
    }

    public struct ProcessExited: Error, CustomStringConvertible {
        public let log: String

        public init(log: String) {
            self.log = log
        }

        public var description: String { "proxy exited or never logged what was expected:\n\(log)" }
    }
}

/// A running proxy binary in front of a fake API server, with a real issuer: the end-to-end
/// fixture. Always call ``stop()``.
public final class ProxyFixture: Sendable {
    public let issuer: TestIssuer
    public let api: FakeAPIServer
    public let process: ProxyProcess
    public let port: Int
    public let probePort: Int
    public let certificateDirectory: String
    public let client: TestClient

    public static let proxyToken = "proxy-service-account-token"

    /// `upstream` replaces the flags naming the fake API server (`--server`, its CA, the proxy's
    /// token), for a test that names it otherwise (a kubeconfig); `apiServerName` is passed to
    /// ``FakeAPIServer/start(serverName:)``.
    public static func start(
        _ extraFlags: [String] = [], issuer: TestIssuer? = nil, waitUntilReady: Bool = true,
        apiServerName: String? = nil, upstream: ((FakeAPIServer) throws -> [String])? = nil
    ) async throws -> ProxyFixture {
        let issuer = if let issuer { issuer } else { try await TestIssuer.start() }
        let api = try await FakeAPIServer.start(serverName: apiServerName)
        let upstreamFlags =
            try upstream?(api) ?? [
                "--server=\(api.url)", "--certificate-authority=\(api.caFile)", "--token=\(proxyToken)",
            ]
        let directory =
            extraFlags.last { $0.hasPrefix("--cert-dir=") }.map { String($0.dropFirst("--cert-dir=".count)) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("proxy-\(UUID().uuidString)").path
        let process = try ProxyProcess.start(
            [
                "--oidc-issuer-url=\(issuer.url)", "--oidc-client-id=kube", "--oidc-ca-file=\(issuer.caFile)",
                "--oidc-username-claim=email", "--oidc-username-prefix=banyan:", "--oidc-groups-claim=roles",
                "--oidc-groups-prefix=banyan:", "--bind-address=127.0.0.1", "--secure-port=0",
                "--readiness-probe-port=0", "--cert-dir=\(directory)", "-v=2",
            ] + upstreamFlags + extraFlags)
        do {
            let port = try await process.waitForPort(logged: "serving HTTPS")
            let probePort = try await process.waitForPort(logged: "serving probes")
            if waitUntilReady {
                var ready = false
                for _ in 0..<500 where !ready {
                    let code = try ProxyProcess.runTool(
                        "/usr/bin/curl",
                        ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(probePort)/ready"])
                    ready = code.stdout == "200"
                    if !ready { try await Task.sleep(for: .milliseconds(20)) }
                }
                if !ready { throw ProxyProcess.ProcessExited(log: "proxy never became ready\n" + process.stderr) }
            }
            // With files of its own the proxy has no generated certificate to trust; such a test
            // brings its own client.
            let given = extraFlags.first { $0.hasPrefix("--tls-cert-file=") }?.dropFirst("--tls-cert-file=".count)
            let client = try TestClient(caFile: given.map(String.init) ?? directory + "/kube-oidc-proxy.crt")
            return ProxyFixture(
                issuer: issuer, api: api, process: process, port: port, probePort: probePort,
                certificateDirectory: directory, client: client)
        } catch {
            _ = try? await process.terminate(signal: SIGKILL)
            try? await api.stop()
            throw error
        }
    }

    private init(
        issuer: TestIssuer, api: FakeAPIServer, process: ProxyProcess, port: Int, probePort: Int,
        certificateDirectory: String, client: TestClient
    ) {
        self.issuer = issuer
        self.api = api
        self.process = process
        self.port = port
        self.probePort = probePort
        self.certificateDirectory = certificateDirectory
        self.client = client
    }

    public var url: String { "https://127.0.0.1:\(port)" }
    public var probeURL: String { "http://127.0.0.1:\(probePort)" }
    public var certificateFile: String { certificateDirectory + "/kube-oidc-proxy.crt" }

    /// A token for alice with two roles, as Banyan issues them.
    public func token(email: String = "alice@example.com", roles: [String] = ["admin", "dev"]) -> String {
        issuer.mint(
            issuer.claims(extra: [
                "email": .string(email), "email_verified": .bool(true), "roles": .array(roles.map { .string($0) }),
            ]))
    }

    /// Runs `body` against a fresh fixture and always stops it, returning the proxy's exit result.
    @discardableResult
    public static func with(
        _ extraFlags: [String] = [], issuer: TestIssuer? = nil, waitUntilReady: Bool = true,
        apiServerName: String? = nil, upstream: ((FakeAPIServer) throws -> [String])? = nil,
        _ body: (ProxyFixture) async throws -> Void
    ) async throws -> ProxyProcess.Result {
        let fixture = try await start(
            extraFlags, issuer: issuer, waitUntilReady: waitUntilReady, apiServerName: apiServerName,
            upstream: upstream)
        do {
            try await body(fixture)
        } catch {
            let result = try await fixture.stop()
            Issue.record("proxy log:\n\(result.stderr.suffix(3000))")
            throw error
        }
        let result = try await fixture.stop()
        if result.status != 0 {
            Issue.record("proxy did not exit cleanly on SIGTERM (\(result.status)):\n\(result.stderr.suffix(3000))")
        }
        return result
    }

    /// Stops everything; returns the proxy's exit result (SIGTERM).
    @discardableResult
    public func stop() async throws -> ProxyProcess.Result {
        let result = try await process.terminate()
        try? await client.shutdown()
        try? await api.stop()
        try? await issuer.stop()
        return result
    }
}

extension ProxyProcess {
    /// Runs another program (curl, kubectl) to completion.
    public static func runTool(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws
        -> Result
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}
