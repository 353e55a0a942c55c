import Foundation
import Synchronization
import Testing

/// The built `kube-oidc-proxy` executable (or another program: curl, kubectl) as a child process.
///
/// Nothing here blocks a thread of Swift concurrency's cooperative pool, which has as many threads
/// as the machine has cores: the exit arrives through `terminationHandler`, and output goes to
/// files read once the child has exited, so a child printing more than a pipe holds never stalls.
/// The files are removed once the result has been read.
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
    private let output: OutputFiles
    private let termination: Termination
    /// The output as read when the child had exited, after which the files are gone.
    private let collected = Mutex<Result?>(nil)

    /// Runs to completion and returns status and output; `input` becomes standard input.
    public static func run(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil)
        async throws -> Result
    {
        try await launch(executable, arguments, environment: environment, input: input).outcome()
    }

    /// Starts the proxy; stop it with ``terminate(signal:timeout:)``.
    public static func start(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil)
        throws -> ProxyProcess
    {
        try launch(executable, arguments, environment: environment, input: input)
    }

    private static func launch(
        _ executable: URL, _ arguments: [String], environment: [String: String]?, input: String?
    ) throws -> ProxyProcess {
        let output = try OutputFiles(for: executable.lastPathComponent)
        do {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            if let environment { process.environment = environment }
            var handles: [FileHandle] = []
            // The child has descriptors of its own once it runs.
            defer { for handle in handles { try? handle.close() } }
            handles.append(try FileHandle(forWritingTo: output.stdout))
            process.standardOutput = handles.last
            handles.append(try FileHandle(forWritingTo: output.stderr))
            process.standardError = handles.last
            if let input {
                try input.write(to: output.stdin, atomically: false, encoding: .utf8)
                handles.append(try FileHandle(forReadingFrom: output.stdin))
                process.standardInput = handles.last
            } else {
                process.standardInput = FileHandle.nullDevice
            }
            let termination = Termination()
            // Before run(): a child that exits at once must still be seen to exit.
            process.terminationHandler = { process in termination.record(process.terminationStatus) }
            try process.run()
            return ProxyProcess(process: process, output: output, termination: termination)
        } catch {
            output.remove()
            throw error
        }
    }

    private init(process: Process, output: OutputFiles, termination: Termination) {
        self.process = process
        self.output = output
        self.termination = termination
    }

    deinit {
        // A child outlives no test: one still running is killed; its files go either way.
        if !termination.hasExited { kill(process.processIdentifier, SIGKILL) }
        output.remove()
    }

    public var isRunning: Bool { !termination.hasExited }

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
    public var stderr: String { collected.withLock { $0?.stderr ?? output.text(of: output.stderr) } }

    /// Standard output so far.
    public var stdout: String { collected.withLock { $0?.stdout ?? output.text(of: output.stdout) } }

    /// Sends `signal` (SIGTERM by default) and waits up to `timeout` for the exit, then kills.
    public func terminate(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) async throws -> Result {
        if !termination.hasExited { kill(pid, signal) }
        let deadline = ContinuousClock.now + timeout
        while !termination.hasExited && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard termination.hasExited else {
            kill(pid, SIGKILL)
            let killed = collect(status: await termination.status())
            try Task.checkCancellation()
            return Result(status: -1, stdout: killed.stdout, stderr: killed.stderr + "\n(killed after timeout)")
        }
        return collect(status: await termination.status())
    }

    /// Waits for the exit (a cancelled wait kills the child first), then reads the output.
    private func outcome() async throws -> Result {
        let status = await withTaskCancellationHandler {
            await termination.status()
        } onCancel: {
            kill(pid, SIGKILL)
        }
        try Task.checkCancellation()
        return collect(status: status)
    }

    /// Reads the output once, after the exit, and removes the files.
    private func collect(status: Int32) -> Result {
        collected.withLock { collected in
            if let collected { return collected }
            let result = Result(
                status: status, stdout: output.text(of: output.stdout), stderr: output.text(of: output.stderr))
            output.remove()
            collected = result
            return result
        }
    }
}

/// A child's exit status: recorded once by `terminationHandler`, awaited by any number of tasks,
/// before or after the exit.
private final class Termination: Sendable {
    private let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    var hasExited: Bool { state.withLock { $0.status != nil } }

    func record(_ status: Int32) {
        let waiters = state.withLock { state in
            state.status = status
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    func status() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }
}

/// A child's standard output, error and input, in a directory of their own under the temporary directory.
private struct OutputFiles: Sendable {
    let directory: URL

    init(for program: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(program)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
    }

    var stdout: URL { directory.appendingPathComponent("stdout") }
    var stderr: URL { directory.appendingPathComponent("stderr") }
    var stdin: URL { directory.appendingPathComponent("stdin") }

    func text(of file: URL) -> String {
        (try? Data(contentsOf: file)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
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
/// fixture. Always call ``stop(signal:)``.
public final class ProxyFixture: Sendable {
    public let issuer: TestIssuer
    public let api: FakeAPIServer
    public let process: ProxyProcess
    public let port: Int
    public let probePort: Int
    public let certificateDirectory: String
    public let client: TestClient
    /// Whether the fixture chose the certificate directory (and removes it), the test naming none.
    private let ownsCertificateDirectory: Bool

    public static let proxyToken = "proxy-service-account-token"

    /// `upstream` replaces the flags naming the fake API server (`--server`, its CA, the proxy's
    /// token), for a test that names it otherwise (a kubeconfig); `apiServerName` is passed to
    /// ``FakeAPIServer/start(serverName:)``. Without `--cert-dir` in `extraFlags` the proxy
    /// generates its certificate in a directory of the fixture's, removed by ``stop(signal:)``.
    public static func start(
        _ extraFlags: [String] = [], issuer: TestIssuer? = nil, waitUntilReady: Bool = true,
        apiServerName: String? = nil, upstream: ((FakeAPIServer) throws -> [String])? = nil
    ) async throws -> ProxyFixture {
        let ownsIssuer = issuer == nil
        let issuer = if let issuer { issuer } else { try await TestIssuer.start() }
        let given = extraFlags.last { $0.hasPrefix("--cert-dir=") }.map { String($0.dropFirst("--cert-dir=".count)) }
        let directory =
            given ?? FileManager.default.temporaryDirectory.appendingPathComponent("proxy-certs-\(UUID())").path
        var api: FakeAPIServer?
        var process: ProxyProcess?
        do {
            let server = try await FakeAPIServer.start(serverName: apiServerName)
            api = server
            let upstreamFlags =
                try upstream?(server) ?? [
                    "--server=\(server.url)", "--certificate-authority=\(server.caFile)", "--token=\(proxyToken)",
                ]
            let proxy = try ProxyProcess.start(
                [
                    "--oidc-issuer-url=\(issuer.url)", "--oidc-client-id=kube", "--oidc-ca-file=\(issuer.caFile)",
                    "--oidc-username-claim=email", "--oidc-username-prefix=banyan:", "--oidc-groups-claim=roles",
                    "--oidc-groups-prefix=banyan:", "--bind-address=127.0.0.1", "--secure-port=0",
                    "--readiness-probe-port=0", "--cert-dir=\(directory)", "-v=2",
                ] + upstreamFlags + extraFlags)
            process = proxy
            let port = try await proxy.waitForPort(logged: "serving HTTPS")
            let probePort = try await proxy.waitForPort(logged: "serving probes")
            if waitUntilReady {
                var ready = false
                for _ in 0..<500 where !ready {
                    let code = try await ProxyProcess.runTool(
                        "/usr/bin/curl",
                        ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(probePort)/ready"])
                    ready = code.stdout == "200"
                    if !ready { try await Task.sleep(for: .milliseconds(20)) }
                }
                if !ready { throw ProxyProcess.ProcessExited(log: "proxy never became ready\n" + proxy.stderr) }
            }
            // With files of its own the proxy has no generated certificate to trust; such a test
            // brings its own client.
            let certificate = extraFlags.first { $0.hasPrefix("--tls-cert-file=") }?.dropFirst("--tls-cert-file=".count)
            let client = try TestClient(caFile: certificate.map(String.init) ?? directory + "/kube-oidc-proxy.crt")
            return ProxyFixture(
                issuer: issuer, api: server, process: proxy, port: port, probePort: probePort,
                certificateDirectory: directory, ownsCertificateDirectory: given == nil, client: client)
        } catch {
            _ = try? await process?.terminate(signal: SIGKILL)
            try? await api?.stop()
            if ownsIssuer { try? await issuer.stop() }
            if given == nil { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }
    }

    private init(
        issuer: TestIssuer, api: FakeAPIServer, process: ProxyProcess, port: Int, probePort: Int,
        certificateDirectory: String, ownsCertificateDirectory: Bool, client: TestClient
    ) {
        self.issuer = issuer
        self.api = api
        self.process = process
        self.port = port
        self.probePort = probePort
        self.certificateDirectory = certificateDirectory
        self.ownsCertificateDirectory = ownsCertificateDirectory
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

    /// Stops everything (the proxy with `signal`, then waiting as ``ProxyProcess/terminate(signal:timeout:)``
    /// does) and removes the certificate directory if the fixture chose it; returns the proxy's exit result.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM) async throws -> ProxyProcess.Result {
        let result: ProxyProcess.Result
        do {
            result = try await process.terminate(signal: signal)
        } catch {
            await release()
            throw error
        }
        await release()
        return result
    }

    /// Everything but the proxy process.
    private func release() async {
        try? await client.shutdown()
        try? await api.stop()
        try? await issuer.stop()
        if ownsCertificateDirectory { try? FileManager.default.removeItem(atPath: certificateDirectory) }
    }
}

extension ProxyProcess {
    /// Runs another program (curl, kubectl) to completion.
    public static func runTool(_ path: String, _ arguments: [String], environment: [String: String]? = nil)
        async throws -> Result
    {
        try await launch(URL(fileURLWithPath: path), arguments, environment: environment, input: nil).outcome()
    }
}
