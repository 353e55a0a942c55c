import Foundation

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

    /// Runs to completion and returns status and output.
    public static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let child = try start(arguments, environment: environment)
        child.process.waitUntilExit()
        return child.result()
    }

    public static func start(_ arguments: [String], environment: [String: String]? = nil) throws -> ProxyProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let directory = FileManager.default.temporaryDirectory
        let stdoutFile = directory.appendingPathComponent("proxy-\(UUID().uuidString).out")
        let stderrFile = directory.appendingPathComponent("proxy-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return ProxyProcess(process: process, stdoutFile: stdoutFile, stderrFile: stderrFile)
    }

    private init(process: Process, stdoutFile: URL, stderrFile: URL) {
        self.process = process
        self.stdoutFile = stdoutFile
        self.stderrFile = stderrFile
    }

    public var isRunning: Bool { process.isRunning }

    /// Standard error so far (the proxy's log).
    public var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

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
        Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "",
            stderr: stderr)
    }
}
