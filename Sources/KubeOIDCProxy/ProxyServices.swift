import AuditBatcher
import Foundation
import Impersonation
import Logging
import NIOSSL
import OIDCVerifier
import ProxyConfiguration
import ProxyServer
import ServiceLifecycle
import UpstreamConfiguration

/// The wiring: every part built from the validated options, run as one service group that
/// SIGTERM and SIGINT shut down gracefully (the proxy drains first, the probes go last).
struct ProxyServices {
    let verifier: OIDCVerifier
    let upstream: UpstreamClient
    let certificate: ServingCertificate
    let proxy: ProxyServer
    let probes: ProbeServer
    let logger: Logger
    let reloadInterval: Duration

    /// Errors here are start-up errors naming what is wrong.
    init(_ options: ProxyOptions, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws
    {
        self.logger = logger
        reloadInterval = max(options.serving.reloadInterval, .milliseconds(100))
        // Everything that can fail without holding a client comes first: a client that is not
        // shut down must not be left behind by a start-up error.
        let target = try UpstreamResolver(environment: environment).resolve(options.upstream)
        logger.info("upstream API server", metadata: ["target": "\(target)"])
        certificate = try ServingCertificate(
            .init(
                certificateFile: options.serving.certificateFile, privateKeyFile: options.serving.privateKeyFile,
                certificateDirectory: options.serving.certificateDirectory,
                minimumTLSVersion: options.serving.minimumTLSVersion == .tls13 ? .tlsv13 : .tlsv12,
                cipherSuites: options.serving.cipherSuites,
                extraNames: options.serving.bindAddress == "0.0.0.0" ? [] : [options.serving.bindAddress]),
            logger: logger)
        let auditor = try Self.auditor(options.audit, logger: logger)
        upstream = try UpstreamClient(target: target)
        do {
            verifier = try OIDCVerifier(configuration: options.oidc, logger: logger)
        } catch {
            try? upstream.http.syncShutdown()
            throw error
        }
        var chainOptions = RequestChain.Options()
        chainOptions.disableImpersonation = options.behaviour.disableImpersonation
        chainOptions.tokenPassthrough = options.behaviour.tokenPassthrough
        chainOptions.requestTimeout = options.requestTimeout
        chainOptions.flushInterval = options.behaviour.flushInterval
        chainOptions.impersonation = ImpersonationOptions(
            extraUserHeaders: options.behaviour.extraUserHeaders.map { ExtraUserHeader(key: $0.key, value: $0.value) },
            includesClientIP: options.behaviour.extraUserHeaderClientIP)
        let metrics = ProxyMetrics()
        let chain = RequestChain(
            verifier: verifier, upstream: upstream,
            tokenReviewer: options.behaviour.tokenPassthrough
                ? TokenReviewer(upstream: upstream, audiences: options.behaviour.tokenPassthroughAudiences) : nil,
            options: chainOptions, metrics: metrics, logger: logger, auditor: auditor)
        let proxy = ProxyServer(
            host: options.serving.bindAddress, port: options.serving.securePort, certificate: certificate, chain: chain,
            metrics: metrics, logger: logger)
        self.proxy = proxy
        let verifier = self.verifier
        probes = ProbeServer(
            host: options.serving.bindAddress, port: options.serving.readinessProbePort,
            isReady: { verifier.isReady && proxy.listeningPort != nil },
            metrics: { metrics.exposition(jwksFetches: verifier.keySetFetchCount) }, logger: logger)
    }

    /// The audit step: a policy and at least one backend, or nothing (as the API server does).
    static func auditor(_ audit: ProxyOptions.Audit, logger: Logger) throws -> any ExchangeAuditor {
        if audit.webhookConfigFile != nil || audit.banyan != nil {
            logger.warning(
                "audit webhook and Banyan shipping are not in this build yet; only --audit-log-path is written")
        }
        guard let policyFile = audit.policyFile, let logPath = audit.logPath else {
            return DiscardingAuditor()
        }
        let policy: AuditPolicy
        do {
            policy = try AuditPolicy.load(path: policyFile)
        } catch {
            throw StartupError(flag: "audit-policy-file", error.description, exitCode: 1)
        }
        let log = try AuditLogFile(
            path: logPath,
            rotation: .init(
                maxSizeMegabytes: audit.logMaxSizeMegabytes, maxBackups: audit.logMaxBackups,
                maxAgeDays: audit.logMaxAgeDays))
        return PolicyAuditor(policy: policy, log: log, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT. Services in `companions` start first and stop last, after
    /// the proxy has drained (`dev` runs its issuer and stand-in API server this way).
    func run(companions: [ServiceGroupConfiguration.ServiceConfiguration] = []) async throws {
        let verifier = self.verifier
        let certificate = self.certificate
        let reloadInterval = self.reloadInterval
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: companions + [
                    .init(service: probes),
                    .init(service: BackgroundTask { await cancelWhenGracefulShutdown { await verifier.run() } }),
                    .init(
                        service: BackgroundTask {
                            await cancelWhenGracefulShutdown { await certificate.watch(every: reloadInterval) }
                        }),
                    .init(service: proxy),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    func shutdown() async {
        await upstream.shutdown()
        await verifier.shutdown()
    }
}

/// A loop that runs until the group shuts down.
struct BackgroundTask: Service {
    let body: @Sendable () async throws -> Void
    func run() async throws { try await body() }
}
