import CommandLineFlags
import Crypto
import DevEnvironment
import Foundation
import KubeconfigGeneration
import Logging
import OIDCVerifier
import ProxyConfiguration
import ProxyServer
import ServiceLifecycle
import TokenDiagnosis

#if canImport(Glibc)
    import Glibc
#endif

/// `kube-oidc-proxy dev` (SPEC section 9): the real proxy between a development OIDC issuer and
/// a stand-in API server, all on 127.0.0.1, and a kubeconfig to try it with. Ctrl-C stops it.
enum DevCommand {
    static func run(_ arguments: [String]) async {
        func fail(_ message: String, exitCode: Int32) -> Never {
            KubeOIDCProxy.fail(message, exitCode: exitCode, command: "dev")
        }
        let (own, proxyArguments) = DevOptions.split(arguments)
        let flags = KubeOIDCProxy.parseFlags(DevFlags.flagSet, own, command: "dev")
        if flags.bool("help") {
            KubeOIDCProxy.output(
                """
                Runs kube-oidc-proxy on 127.0.0.1 between a development OIDC issuer and a stand-in Kubernetes API
                server, writes a kubeconfig holding a fresh token for a sample user, and prints the kubectl
                commands to try. Nothing listens beyond loopback. Ctrl-C stops everything.

                Usage:
                  kube-oidc-proxy dev [flags] [-- proxy flags]

                Flags:

                """ + DevFlags.flagSet.usage())
            exit(0)
        }
        let options: DevOptions
        do {
            options = try DevOptions(
                flags, proxyArguments: proxyArguments, defaultStateDirectory: defaultStateDirectory())
        } catch {
            fail(error.description, exitCode: error.exitCode)
        }
        let logger = KubeOIDCProxy.makeLogger(verbosity: options.verbosity)
        let session: DevSession
        do {
            session = try await DevSession.start(options, logger: logger)
        } catch let error as StartupError {
            fail(error.description, exitCode: error.exitCode)
        } catch {
            fail("\(error)", exitCode: 1)
        }
        exit(await session.run())
    }

    /// `$TMPDIR/kube-oidc-proxy-dev-<uid>`: stable across runs, one per user.
    static func defaultStateDirectory() -> String {
        let temporary = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return (temporary as NSString).appendingPathComponent("kube-oidc-proxy-dev-\(getuid())")
    }
}

/// One running demo: the issuer and stand-in API server already listening, the proxy wired to
/// them through the same flags and services as in production.
struct DevSession {
    static let clientID = "kube-oidc-proxy-dev"
    static let clusterName = "kube-oidc-proxy-dev"

    let options: DevOptions
    let issuer: DevelopmentIssuer
    let issuerServer: LoopbackHTTPSServer
    let apiServer: LoopbackHTTPSServer
    let issuerCAFile: String
    let proxyOptions: ProxyOptions
    let services: ProxyServices
    let logger: Logger

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func start(_ options: DevOptions, logger: Logger) async throws -> DevSession {
        let directory = options.stateDirectory
        try prepareStateDirectory(directory)
        let issuer = try DevelopmentIssuer(clientID: clientID)
        let issuerCA = try DevelopmentCA(commonName: "kube-oidc-proxy dev issuer CA")
        let apiCA = try DevelopmentCA(commonName: "kube-oidc-proxy dev API server CA")
        let issuerCAFile = (directory as NSString).appendingPathComponent("issuer-ca.crt")
        let apiCAFile = (directory as NSString).appendingPathComponent("apiserver-ca.crt")
        try issuerCA.certificatePEM.write(toFile: issuerCAFile, atomically: true, encoding: .utf8)
        try apiCA.certificatePEM.write(toFile: apiCAFile, atomically: true, encoding: .utf8)
        // Each session gets a fresh proxy certificate; the kubeconfig written below trusts it.
        let certificateDirectory = (directory as NSString).appendingPathComponent("proxy")
        for name in ["kube-oidc-proxy.crt", "kube-oidc-proxy.key"] {
            try? FileManager.default.removeItem(atPath: (certificateDirectory as NSString).appendingPathComponent(name))
        }
        // The proxy's own credential for the stand-in API server, as a service-account token would be.
        let proxyToken = Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })

        let issuerTLS = try issuerCA.issueLoopbackCertificate()
        let issuerServer = try await bind("--issuer-port", options.issuerPort) {
            try await LoopbackHTTPSServer.start(
                name: "development OIDC issuer", port: options.issuerPort, certificatePEM: issuerTLS.certificatePEM,
                keyPEM: issuerTLS.keyPEM, logger: logger
            ) { request in issuer.respond(to: request) }
        }
        let api = StandInAPI(proxyToken: proxyToken, startedAt: Date())
        let apiTLS = try apiCA.issueLoopbackCertificate()
        let apiServer: LoopbackHTTPSServer
        do {
            apiServer = try await bind("--api-server-port", options.apiServerPort) {
                try await LoopbackHTTPSServer.start(
                    name: "stand-in API server", port: options.apiServerPort, certificatePEM: apiTLS.certificatePEM,
                    keyPEM: apiTLS.keyPEM, logger: logger
                ) { request in api.respond(to: request, now: Date()) }
            }
        } catch {
            await issuerServer.stop()
            throw error
        }
        do {
            let arguments =
                [
                    "--oidc-issuer-url=\(issuerServer.url)", "--oidc-client-id=\(clientID)",
                    "--oidc-ca-file=\(issuerCAFile)", "--oidc-username-claim=email", "--oidc-username-prefix=banyan:",
                    "--oidc-groups-claim=roles", "--oidc-groups-prefix=banyan:", "--bind-address=127.0.0.1",
                    "--secure-port=\(options.securePort)", "--readiness-probe-port=\(options.readinessProbePort)",
                    "--cert-dir=\(certificateDirectory)", "--server=\(apiServer.url)",
                    "--certificate-authority=\(apiCAFile)", "--token=\(proxyToken)",
                    "--audit-spool-dir=\((directory as NSString).appendingPathComponent("audit-spool"))",
                    "-v=\(options.verbosity)",
                ] + options.proxyArguments
            var proxyOptions = try ProxyOptions(try ProxyFlags.flagSet.parse(arguments), environment: [:])
            // Everything `dev` runs stays on 127.0.0.1, the probes too.
            proxyOptions.serving.probeBindAddress = "127.0.0.1"
            let services = try ProxyServices(proxyOptions, logger: logger, environment: [:])
            return DevSession(
                options: options, issuer: issuer, issuerServer: issuerServer, apiServer: apiServer,
                issuerCAFile: issuerCAFile, proxyOptions: proxyOptions, services: services, logger: logger)
        } catch {
            await issuerServer.stop()
            await apiServer.stop()
            throw error
        }
    }

    /// Runs until SIGINT or SIGTERM; returns the exit status.
    func run() async -> Int32 {
        // It returns only on its turn in a graceful shutdown: a service that returns while the
        // group shuts the others down counts as finished unexpectedly (a SIGTERM just after the
        // start ended the session with status 1). Stopped before the proxy was ready, it says
        // nothing.
        let announcer = BackgroundTask {
            do {
                try await cancelWhenGracefulShutdown { try await announce() }
            } catch is CancellationError {
                return
            }
            try? await gracefulShutdown()
        }
        do {
            try await services.run(companions: [
                .init(service: issuerServer), .init(service: apiServer),
                .init(service: announcer, successTerminationBehavior: .ignore),
            ])
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            await services.shutdown()
            return 1
        }
        await services.shutdown()
        logger.info("stopped")
        return 0
    }

    /// Once the proxy listens and has the issuer's keys: mints the sample user's token, proves
    /// it with the proxy's own verifier, writes the kubeconfig and prints what to try.
    private func announce() async throws {
        let proxy = services.proxy
        let verifier = services.verifier
        let deadline = ContinuousClock.now + .seconds(30)
        while proxy.listeningPort == nil || services.probes.listeningPort == nil || !verifier.isReady {
            guard ContinuousClock.now < deadline else {
                throw Failure(
                    description: "the proxy did not become ready: "
                        + (verifier.lastKeyLoadFailure ?? "it is not listening yet"))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let proxyPort = proxy.listeningPort ?? 0
        let probePort = services.probes.listeningPort ?? 0
        let now = Date()
        let token = try issuer.mintToken(
            issuerURL: issuerServer.url, email: options.email, roles: options.roles, now: now,
            lifetime: options.tokenLifetime)
        let verified = try await verifier.verify(token)
        var groups = verified.user.groups
        if !groups.contains("system:authenticated") { groups.append("system:authenticated") }

        let certificate = try Data(contentsOf: URL(fileURLWithPath: services.certificate.certificateFile))
        let kubeconfig = ClientKubeconfig(
            clusterName: Self.clusterName, server: "https://127.0.0.1:\(proxyPort)",
            certificateAuthorityPEM: certificate, userName: "dev-user", contextName: Self.clusterName,
            namespace: "default", credential: .token(token))
        try PrivateFile.write(Data(kubeconfig.yaml().utf8), to: options.kubeconfigPath)

        let banner = DevelopmentBanner(
            proxyURL: "https://127.0.0.1:\(proxyPort)", probeURL: "http://127.0.0.1:\(probePort)",
            issuerURL: issuerServer.url, apiServerURL: apiServer.url, clientID: Self.clientID,
            kubeconfigPath: options.kubeconfigPath, email: options.email, roles: options.roles,
            username: verified.user.username, groups: groups,
            tokenExpiry: TimeWording.utc(verified.expiresAt),
            checkTokenArguments: [
                "kube-oidc-proxy", "check-token", "--kubeconfig", options.kubeconfigPath,
                "--oidc-issuer-url=\(issuerServer.url)", "--oidc-client-id=\(Self.clientID)",
                "--oidc-ca-file=\(issuerCAFile)", "--oidc-username-claim=email", "--oidc-username-prefix=banyan:",
                "--oidc-groups-claim=roles", "--oidc-groups-prefix=banyan:",
            ])
        KubeOIDCProxy.output(banner.text)
        logger.info("dev environment ready", metadata: ["kubeconfig": "\(options.kubeconfigPath)"])
    }

    /// A fixed port that is taken is the user's to fix: say which flag.
    private static func bind(
        _ flag: String, _ port: Int, _ start: () async throws -> LoopbackHTTPSServer
    ) async throws -> LoopbackHTTPSServer {
        do {
            return try await start()
        } catch {
            throw StartupError(
                flag: String(flag.dropFirst(2)), "cannot listen on 127.0.0.1:\(port): \(error)", exitCode: 1)
        }
    }

    /// Creates the state directory readable by its owner only, and refuses one that someone else
    /// owns or that is a symbolic link: it will hold keys and a token.
    private static func prepareStateDirectory(_ path: String) throws {
        let manager = FileManager.default
        guard let attributes = try? manager.attributesOfItem(atPath: path) else {
            do {
                try manager.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StartupError(flag: "state-dir", "cannot create \(path): \(error)", exitCode: 1)
            }
            return
        }
        // attributesOfItem does not follow a symbolic link: a link is refused here.
        guard attributes[.type] as? FileAttributeType == .typeDirectory else {
            throw StartupError(flag: "state-dir", "\(path) exists and is not a directory", exitCode: 1)
        }
        guard (attributes[.ownerAccountID] as? NSNumber)?.uint32Value == getuid() else {
            throw StartupError(flag: "state-dir", "\(path) belongs to another user", exitCode: 1)
        }
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
    }
}
