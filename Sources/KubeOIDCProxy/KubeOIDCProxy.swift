import CommandLineFlags
import Foundation
import Logging
import ProxyConfiguration

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
        let services: ProxyServices
        do {
            services = try ProxyServices(options, logger: logger)
        } catch {
            fail("\(error)", exitCode: 1)
        }
        logger.info(
            "starting", metadata: ["issuer": "\(options.oidc.policy.issuer)", "version": "\(BuildInfo.version)"])
        do {
            try await services.run()
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            await services.shutdown()
            exit(1)
        }
        await services.shutdown()
        logger.info("stopped")
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
