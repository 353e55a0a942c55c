import AuditBatcher
import AuditShipping
import EgressProxy
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
    /// One per batching sink (webhook, Banyan), each a service of the group.
    let shippers: [AuditShipper]
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
        let metrics = ProxyMetrics()
        let auditMetrics = AuditMetrics(registry: metrics.registry)
        let (auditor, shippers) = try Self.auditor(
            options.audit, metrics: auditMetrics, environment: environment, logger: logger)
        self.shippers = shippers
        upstream = try UpstreamClient(target: target)
        var oidc = options.oidc
        oidc.proxyEnvironment = environment
        do {
            verifier = try OIDCVerifier(configuration: oidc, logger: logger)
        } catch let invalid as EgressProxy.Invalid {
            try? upstream.http.syncShutdown()
            throw StartupError(flag: nil, "\(invalid.description) (the OIDC issuer's egress proxy)", exitCode: 1)
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
        let chain = RequestChain(
            verifier: verifier, upstream: upstream,
            tokenReviewer: options.behaviour.tokenPassthrough
                ? TokenReviewer(upstream: upstream, audiences: options.behaviour.tokenPassthroughAudiences) : nil,
            options: chainOptions, metrics: metrics, logger: logger, auditor: auditor)
        let proxy = ProxyServer(
            host: options.serving.bindAddress, port: options.serving.securePort, certificate: certificate, chain: chain,
            metrics: metrics, logger: logger, handshakeTimeout: options.serving.handshakeTimeout,
            idleTimeout: options.serving.idleTimeout)
        self.proxy = proxy
        let verifier = self.verifier
        probes = ProbeServer(
            host: options.serving.probeBindAddress, port: options.serving.readinessProbePort,
            isReady: { verifier.isReady && proxy.listeningPort != nil },
            metrics: {
                auditMetrics.refresh()
                return metrics.exposition(jwksFetches: verifier.keySetFetchCount)
            }, logger: logger)
    }

    /// The audit step: a policy and at least one backend, or nothing (as the API server does).
    /// The log file is written at once; each batching sink (webhook, Banyan) gets a shipper with
    /// a spool of its own under `--audit-spool-dir`. Sinks make their HTTP clients at the first
    /// send, so a start-up error after this point leaves nothing to shut down.
    /// The egress proxy `HTTPS_PROXY` and `NO_PROXY` choose for a sink's URL, said once in the log
    /// (without the proxy's password); an unusable setting is a startup error naming its variable.
    static func egressProxy(for url: String, environment: [String: String], sink: String, logger: Logger) throws
        -> EgressProxy?
    {
        let proxy: EgressProxy?
        do {
            proxy = try EgressProxy.forURL(url, environment: environment)
        } catch {
            throw StartupError(flag: nil, "\(error.description) (the \(sink) audit sink's egress proxy)", exitCode: 1)
        }
        if let proxy {
            logger.info(
                "audit sink connects through an egress proxy", metadata: ["sink": "\(sink)", "proxy": "\(proxy)"])
        }
        return proxy
    }

    static func auditor(
        _ audit: ProxyOptions.Audit, metrics: AuditMetrics, environment: [String: String], logger: Logger
    ) throws -> (any ExchangeAuditor, [AuditShipper]) {
        guard let policyFile = audit.policyFile else {
            if audit.logPath != nil || audit.webhookConfigFile != nil || audit.banyan != nil {
                logger.warning("audit backends are configured but --audit-policy-file is not: nothing is audited")
            }
            return (DiscardingAuditor(), [])
        }
        let policy: AuditPolicy
        do {
            policy = try AuditPolicy.load(path: policyFile)
        } catch {
            throw StartupError(flag: "audit-policy-file", error.description, exitCode: 1)
        }
        var sinks: [any AuditSink] = []
        if let file = audit.webhookConfigFile {
            do {
                sinks.append(try WebhookSink(configFile: file, environment: environment, logger: logger))
            } catch {
                throw StartupError(flag: "audit-webhook-config-file", "\(error)", exitCode: 1)
            }
        }
        if let banyan = audit.banyan {
            let proxy = try egressProxy(
                for: banyan.restAPIURL, environment: environment, sink: "Banyan", logger: logger)
            do {
                sinks.append(
                    try BanyanSink(
                        .init(
                            restAPIURL: banyan.restAPIURL, serviceName: banyan.serviceName,
                            eventsPath: banyan.eventsPath, refreshTokenFile: banyan.refreshTokenFile,
                            refreshToken: environment["BANYAN_REFRESH_TOKEN"], caFile: banyan.caFile, proxy: proxy),
                        logger: logger))
            } catch let failure as BanyanSink.Failure {
                throw StartupError(flag: failure.flag, failure.description, exitCode: 1)
            } catch {
                throw StartupError(flag: "banyan-ca-file", "\(error)", exitCode: 1)
            }
        }
        var backends: [any AuditBackend] = []
        if let logPath = audit.logPath {
            backends.append(
                try AuditLogFile(
                    path: logPath,
                    rotation: .init(
                        maxSizeMegabytes: audit.logMaxSizeMegabytes, maxBackups: audit.logMaxBackups,
                        maxAgeDays: audit.logMaxAgeDays, compress: audit.logCompress),
                    truncation: audit.logTruncateMaxEventSize.map { AuditTruncation(maxEventSize: $0) },
                    compressionFailed: { logger.warning("\($0)") }))
        }
        var shippers: [AuditShipper] = []
        for sink in sinks {
            let directory = (audit.spoolDirectory as NSString).appendingPathComponent(sink.backend)
            do {
                shippers.append(
                    try AuditShipper(
                        sink: sink,
                        configuration: .init(
                            batching: batching(audit), spoolDirectory: directory, spoolMaxBytes: audit.spoolMaxBytes,
                            // Batching sinks only: the log file keeps every event whole, as the API server's.
                            truncation: audit.truncateEnabled
                                ? AuditTruncation(
                                    maxEventSize: audit.truncateMaxEventSize, maxBatchSize: audit.truncateMaxBatchSize)
                                : nil),
                        metrics: metrics.backend(sink.backend), logger: logger))
            } catch {
                throw StartupError(flag: "audit-spool-dir", "cannot open \(directory): \(error)", exitCode: 1)
            }
            logger.info(
                "audit events shipped in batches",
                metadata: [
                    "backend": "\(sink.backend)", "spool": "\(directory)",
                    "maxWait": "\(audit.batchMaxWait)", "maxSize": "\(audit.batchMaxSize)",
                ])
        }
        backends += shippers as [any AuditBackend]
        guard !backends.isEmpty else { return (DiscardingAuditor(), []) }
        return (PolicyAuditor(policy: policy, backends: backends, logger: logger), shippers)
    }

    /// The `--audit-webhook-batch-*` flags, which govern every batching backend.
    static func batching(_ audit: ProxyOptions.Audit) -> BatchingConfiguration {
        BatchingConfiguration(
            maxBatchSize: audit.batchMaxSize, maxBatchWait: audit.batchMaxWait, bufferSize: audit.batchBufferSize,
            throttle: audit.throttleEnabled
                ? BatchingConfiguration.Throttle(qps: audit.throttleQPS, burst: audit.throttleBurst) : nil,
            initialBackoff: audit.initialBackoff)
    }

    /// Runs until SIGTERM or SIGINT. Services in `companions` start first and stop last, after
    /// the proxy has drained (`dev` runs its issuer and stand-in API server this way).
    func run(companions: [ServiceGroupConfiguration.ServiceConfiguration] = []) async throws {
        let verifier = self.verifier
        let certificate = self.certificate
        let reloadInterval = self.reloadInterval
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                // Shut down in reverse: the proxy drains its requests first, then the shippers
                // flush what those requests audited (before the verifier, whose key fetch in
                // flight could hold the shutdown for its timeout), and the probes go last.
                services: companions + [.init(service: probes)] + [
                    .init(service: BackgroundTask { await cancelWhenGracefulShutdown { await verifier.run() } }),
                    .init(
                        service: BackgroundTask {
                            await cancelWhenGracefulShutdown { await certificate.watch(every: reloadInterval) }
                        }),
                ] + (shippers.isEmpty ? [] : [.init(service: ShipperGroup(shippers))]) + [.init(service: proxy)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        let signals = RepeatedSignal()
        defer { signals.cancel() }
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
