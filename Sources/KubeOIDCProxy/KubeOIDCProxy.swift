import CommandLineFlags
import Foundation
import Logging
import OIDCVerifier
import ProxyConfiguration
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Entry point: flags in, a validated configuration, then the services.
@main
enum KubeOIDCProxy {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let flags: ParsedFlags
        do {
            flags = try ProxyFlags.flagSet.parse(arguments)
        } catch {
            fail("\(error)", exitCode: 2)
        }
        if flags.bool("help") {
            print("Usage: kube-oidc-proxy [flags]\n\nFlags:\n" + ProxyFlags.flagSet.usage(), terminator: "")
            exit(0)
        }
        if flags.bool("version") {
            print("kube-oidc-proxy \(BuildInfo.version)")
            exit(0)
        }
        if let unexpected = flags.positional.first {
            fail("unknown command \"\(unexpected)\" (run kube-oidc-proxy --help)", exitCode: 2)
        }
        let options: ProxyOptions
        do {
            options = try ProxyOptions(flags, environment: ProcessInfo.processInfo.environment)
        } catch {
            fail(error.description, exitCode: error.exitCode)
        }
        let logger = makeLogger(verbosity: options.verbosity)
        await run(options, logger: logger)
    }

    static func run(_ options: ProxyOptions, logger: Logger) async {
        let verifier: OIDCVerifier
        do {
            verifier = try OIDCVerifier(configuration: options.oidc, logger: logger)
        } catch {
            fail("invalid value for --oidc-ca-file: \(error)", exitCode: 1)
        }
        logger.info(
            "starting", metadata: ["issuer": "\(options.oidc.policy.issuer)", "version": "\(BuildInfo.version)"])
        let keys = Task { await verifier.run() }
        let signal = await Termination.wait()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        keys.cancel()
        await keys.value
        await verifier.shutdown()
    }

    static func makeLogger(verbosity: Int) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbosity >= 4 ? .trace : verbosity >= 2 ? .debug : .info
            return handler
        }
        return Logger(label: "kube-oidc-proxy")
    }

    static func fail(_ message: String, exitCode: Int32) -> Never {
        FileHandle.standardError.write(Data("kube-oidc-proxy: \(message)\n".utf8))
        exit(exitCode)
    }
}

/// Waits for SIGTERM or SIGINT.
enum Termination {
    static func wait() async -> String {
        let once = OnceFlag()
        var sources: [any DispatchSourceSignal] = []
        let name = await withCheckedContinuation { continuation in
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    if once.claim() { continuation.resume(returning: name) }
                }
                source.resume()
                sources.append(source)
            }
        }
        for source in sources { source.cancel() }
        return name
    }
}

/// Resumes a continuation exactly once when either of two signals arrives.
final class OnceFlag: Sendable {
    private let claimed = Mutex(false)
    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}
