import CommandLineFlags
import Foundation
import Logging
import ProxyConfiguration
import ProxyServer

#if canImport(Glibc)
    import Glibc
#endif

/// Entry point: a subcommand (`dev`, `check-token`, `kubeconfig`) or the proxy itself; flags in,
/// a validated configuration, then the services.
@main
enum KubeOIDCProxy {
    static let commands: [(name: String, summary: String)] = [
        ("dev", "run a self-contained demo on 127.0.0.1: proxy, OIDC issuer, stand-in API server, kubeconfig"),
        ("check-token", "say whether the proxy would accept a token, and if not exactly why"),
        ("kubeconfig", "write a kubeconfig for a user of the proxy"),
    ]

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let rest = Array(arguments.dropFirst())
        switch arguments.first {
        case "dev": await DevCommand.run(rest)
        case "check-token": await CheckTokenCommand.run(rest)
        case "kubeconfig": KubeconfigCommand.run(rest)
        default: await runProxy(arguments)
        }
    }

    static func runProxy(_ arguments: [String]) async {
        let flags = parseFlags(ProxyFlags.flagSet, arguments)
        if flags.bool("help") {
            let commandList = commands.map {
                "  " + $0.name.padding(toLength: 13, withPad: " ", startingAt: 0) + $0.summary
            }
            print(
                "Usage:\n  kube-oidc-proxy [flags]\n  kube-oidc-proxy <command> [flags]\n\nCommands:\n"
                    + commandList.joined(separator: "\n")
                    + "\n\nRun kube-oidc-proxy <command> --help for a command's flags.\n\nFlags:\n"
                    + ProxyFlags.flagSet.usage(),
                terminator: "")
            exit(0)
        }
        if flags.bool("version") {
            print("kube-oidc-proxy \(BuildInfo.version)")
            exit(0)
        }
        if let unexpected = flags.positional.first {
            if commands.contains(where: { $0.name == unexpected }) {
                fail("the command comes first: kube-oidc-proxy \(unexpected) [flags]", exitCode: 2)
            }
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
        for warning in options.warnings { logger.warning("\(warning)") }
        do {
            try await services.run()
        } catch let failure as ListenFailure {
            // The one line a bad flag gets, naming the port's flag.
            await services.shutdown()
            fail(failure.description, exitCode: 1)
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            await services.shutdown()
            exit(1)
        }
        await services.shutdown()
        logger.info("stopped")
    }

    static func makeLogger(verbosity: Int, label: String = "kube-oidc-proxy") -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbosity >= 4 ? .trace : verbosity >= 2 ? .debug : .info
            return handler
        }
        return Logger(label: label)
    }

    /// One line on standard error, then exit: `kube-oidc-proxy[ <command>]: <message>`.
    /// Parses `arguments` with `flagSet`; a bad flag is one line naming it, exit 2.
    static func parseFlags(_ flagSet: FlagSet, _ arguments: [String], command: String? = nil) -> ParsedFlags {
        do {
            return try flagSet.parse(arguments)
        } catch {
            fail(error.description, exitCode: 2, command: command)
        }
    }

    static func fail(_ message: String, exitCode: Int32, command: String? = nil) -> Never {
        let name = command.map { "kube-oidc-proxy \($0)" } ?? "kube-oidc-proxy"
        FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
        exit(exitCode)
    }

    /// Writes to standard output at once: the output may be a file another process is reading.
    static func output(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
