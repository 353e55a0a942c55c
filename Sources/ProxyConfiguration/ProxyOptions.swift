import CommandLineFlags
import Foundation
import OIDCVerifier
import UpstreamConfiguration

/// The proxy's whole configuration, validated: built from parsed flags, or refused with a
/// ``StartupError`` naming the flag. The proxy never starts half-configured.
public struct ProxyOptions: Sendable {
    public struct Serving: Sendable, Equatable {
        public var bindAddress: String
        public var securePort: Int
        public var certificateFile: String?
        public var privateKeyFile: String?
        public var certificateDirectory: String
        public var minimumTLSVersion: TLSMinimumVersion
        /// OpenSSL names of the TLS 1.2 suites to offer; empty means the secure default set.
        public var cipherSuites: [String]
        public var readinessProbePort: Int
        /// How often rotated certificate files are looked for.
        public var reloadInterval: Duration
        /// How long a client connection may take to finish its TLS handshake.
        public var handshakeTimeout: Duration = .seconds(32)
        /// How long a connection may stay open with no request in progress.
        public var idleTimeout: Duration = .seconds(90)
        /// Where the probes listen: every interface, whatever `--bind-address` says, as the Go
        /// proxy's (the kubelet probes the pod's IP). `dev` keeps them on loopback.
        public var probeBindAddress = "0.0.0.0"
    }

    public struct Behaviour: Sendable, Equatable {
        public var disableImpersonation: Bool
        public var tokenPassthrough: Bool
        public var tokenPassthroughAudiences: [String]
        public var extraUserHeaderClientIP: Bool
        public var extraUserHeaders: [KeyValuePair]
        public var flushInterval: Duration
    }

    public struct Audit: Sendable, Equatable {
        public var policyFile: String?
        public var logPath: String?
        public var logMaxAgeDays: Int
        public var logMaxBackups: Int
        public var logMaxSizeMegabytes: Int
        public var webhookConfigFile: String?
        public var batchMaxWait: Duration
        public var batchMaxSize: Int
        public var batchBufferSize: Int
        public var throttleEnabled: Bool
        public var throttleQPS: Double
        public var throttleBurst: Int
        public var initialBackoff: Duration
        public var truncateEnabled: Bool
        public var truncateMaxEventSize: Int
        public var truncateMaxBatchSize: Int
        public var spoolDirectory: String
        public var spoolMaxBytes: UInt64
        public var banyan: Banyan?
        /// `--audit-log-compress`.
        public var logCompress = false
        /// `--audit-log-truncate-max-event-size` when `--audit-log-truncate-enabled`, else nil.
        public var logTruncateMaxEventSize: Int?
    }

    /// The Banyan sink, on when a service name and a refresh token source are both given.
    public struct Banyan: Sendable, Equatable {
        public var restAPIURL: String
        public var serviceName: String
        public var eventsPath: String
        public var refreshTokenFile: String?
        public var caFile: String?
    }

    public var oidc: OIDCConfiguration
    public var serving: Serving
    /// The kubectl-style flags that say where the API server is and how to reach it.
    public var upstream: UpstreamFlags
    /// `--request-timeout`: nil means none.
    public var requestTimeout: Duration?
    public var behaviour: Behaviour
    public var audit: Audit
    public var verbosity: Int
    /// Flags taken but worth a word at startup (deprecated, or without their upstream effect),
    /// logged as warnings.
    public var warnings: [String] = []

    /// Validates parsed flags. `environment` supplies `BANYAN_REFRESH_TOKEN`.
    public init(_ flags: ParsedFlags, environment: [String: String] = [:]) throws(StartupError) {
        func optional(_ name: String) -> String? {
            let value = flags.string(name)
            return value.isEmpty ? nil : value
        }
        func readableFile(_ name: String) throws(StartupError) -> String? {
            guard let path = optional(name) else { return nil }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw StartupError(flag: name, "cannot read file \(path)", exitCode: 1)
            }
            return path
        }
        func port(_ name: String) throws(StartupError) -> Int {
            let value = flags.int(name)
            // 0 asks the kernel for a free port, which tests and `dev` mode use.
            guard (0...65535).contains(value) else {
                throw StartupError(flag: name, "\(value) is not a port (0-65535)")
            }
            return value
        }
        func nonNegative(_ name: String) throws(StartupError) -> Duration {
            let value = flags.duration(name)
            guard value >= .zero else { throw StartupError(flag: name, "must not be negative") }
            return value
        }
        func positive(_ name: String) throws(StartupError) -> Int {
            let value = flags.int(name)
            guard value > 0 else { throw StartupError(flag: name, "must be greater than 0") }
            return value
        }

        // OIDC
        oidc = try Self.oidcConfiguration(flags)

        // Serving
        let certificateFile = try readableFile("tls-cert-file")
        let privateKeyFile = try readableFile("tls-private-key-file")
        if (certificateFile == nil) != (privateKeyFile == nil) {
            throw StartupError(
                flag: certificateFile == nil ? "tls-cert-file" : "tls-private-key-file",
                "--tls-cert-file and --tls-private-key-file must be given together")
        }
        guard let minimumVersion = TLSMinimumVersion(rawValue: flags.string("tls-min-version")) else {
            throw StartupError(
                flag: "tls-min-version",
                "\"\(flags.string("tls-min-version"))\" is not one of \(TLSMinimumVersion.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        var suites: [String] = []
        for name in flags.strings("tls-cipher-suites") {
            if let openSSLName = TLSCipherSuites.tls12[name] {
                suites.append(openSSLName)
            } else if !TLSCipherSuites.tls13.contains(name) {
                throw StartupError(flag: "tls-cipher-suites", "unknown or insecure cipher suite \(name)")
            }
        }
        if !flags.strings("tls-cipher-suites").isEmpty && suites.isEmpty && minimumVersion == .tls12 {
            throw StartupError(
                flag: "tls-cipher-suites", "lists no TLS 1.2 suite, but --tls-min-version allows TLS 1.2")
        }
        guard !flags.string("bind-address").isEmpty else {
            throw StartupError(flag: "bind-address", "must not be empty")
        }
        serving = Serving(
            bindAddress: flags.string("bind-address"), securePort: try port("secure-port"),
            certificateFile: certificateFile, privateKeyFile: privateKeyFile,
            certificateDirectory: flags.string("cert-dir"), minimumTLSVersion: minimumVersion, cipherSuites: suites,
            readinessProbePort: try port("readiness-probe-port"),
            reloadInterval: try nonNegative("tls-reload-interval"),
            handshakeTimeout: try nonNegative("tls-handshake-timeout"),
            idleTimeout: try nonNegative("idle-connection-timeout")
        )
        if serving.securePort != 0 && serving.securePort == serving.readinessProbePort {
            throw StartupError(flag: "readiness-probe-port", "must differ from --secure-port")
        }

        // Upstream
        let timeout = try nonNegative("request-timeout")
        requestTimeout = timeout == .zero ? nil : timeout
        upstream = UpstreamFlags(
            kubeconfig: try readableFile("kubeconfig"), context: optional("context"), cluster: optional("cluster"),
            user: optional("user"), server: optional("server"), token: optional("token"),
            certificateAuthority: try readableFile("certificate-authority"),
            clientCertificate: try readableFile("client-certificate"), clientKey: try readableFile("client-key"),
            insecureSkipTLSVerify: flags.bool("insecure-skip-tls-verify"))
        if (upstream.clientCertificate == nil) != (upstream.clientKey == nil) {
            throw StartupError(
                flag: upstream.clientCertificate == nil ? "client-certificate" : "client-key",
                "--client-certificate and --client-key must be given together")
        }

        // Proxy behaviour
        behaviour = Behaviour(
            disableImpersonation: flags.bool("disable-impersonation"),
            tokenPassthrough: flags.bool("token-passthrough"),
            tokenPassthroughAudiences: flags.strings("token-passthrough-audiences"),
            extraUserHeaderClientIP: flags.bool("extra-user-header-client-ip"),
            extraUserHeaders: flags.keyValues("extra-user-headers"),
            flushInterval: try nonNegative("flush-interval"))

        // Audit
        guard flags.string("audit-log-format") == "json" else {
            throw StartupError(
                flag: "audit-log-format", "\"\(flags.string("audit-log-format"))\" is not supported; use json")
        }
        // The API server's modes and versions, checked as it checks them: for a backend in use.
        let logEnabled = optional("audit-log-path") != nil
        let webhookEnabled = optional("audit-webhook-config-file") != nil
        if logEnabled {
            try Self.auditMode(flags, "audit-log-mode", supported: ["blocking", "batch"])
            try Self.auditVersion(flags, "audit-log-version")
            if flags.string("audit-log-mode") == "batch" {
                warnings.append(
                    "--audit-log-mode=batch: the audit log is written as each request completes, as in blocking mode")
            }
        }
        if webhookEnabled {
            try Self.auditMode(flags, "audit-webhook-mode", supported: ["batch"])
            try Self.auditVersion(flags, "audit-webhook-version")
        }
        var initialBackoff = try nonNegative("audit-webhook-initial-backoff")
        if flags.isSet("audit-webhook-batch-initial-backoff") {
            let deprecated = try nonNegative("audit-webhook-batch-initial-backoff")
            if flags.isSet("audit-webhook-initial-backoff") && deprecated != initialBackoff {
                throw StartupError(
                    flag: "audit-webhook-batch-initial-backoff",
                    "is deprecated and differs from --audit-webhook-initial-backoff; give only that")
            }
            initialBackoff = deprecated
            warnings.append("--audit-webhook-batch-initial-backoff is deprecated: use --audit-webhook-initial-backoff")
        }
        var logTruncateMaxEventSize: Int?
        if flags.bool("audit-log-truncate-enabled") {
            logTruncateMaxEventSize = try positive("audit-log-truncate-max-event-size")
        }
        let banyan = try Self.banyan(flags, environment: environment)
        let throttleQPS = flags.double("audit-webhook-batch-throttle-qps")
        if flags.bool("audit-webhook-batch-throttle-enable") && !(throttleQPS > 0) {
            throw StartupError(flag: "audit-webhook-batch-throttle-qps", "must be greater than 0")
        }
        guard flags.bytes("audit-spool-max-bytes") > 0 else {
            throw StartupError(flag: "audit-spool-max-bytes", "must be greater than 0")
        }
        for name in ["audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize"] where flags.int(name) < 0 {
            throw StartupError(flag: name, "must not be negative")
        }
        let maxWait = try nonNegative("audit-webhook-batch-max-wait")
        // As the API server checks them: only when truncating.
        if flags.bool("audit-webhook-truncate-enabled") {
            let event = flags.int("audit-webhook-truncate-max-event-size")
            guard event > 0 else {
                throw StartupError(flag: "audit-webhook-truncate-max-event-size", "must be greater than 0")
            }
            guard flags.int("audit-webhook-truncate-max-batch-size") >= event else {
                throw StartupError(
                    flag: "audit-webhook-truncate-max-batch-size",
                    "must be at least --audit-webhook-truncate-max-event-size (\(event))")
            }
        }
        audit = Audit(
            policyFile: try readableFile("audit-policy-file"), logPath: optional("audit-log-path"),
            logMaxAgeDays: flags.int("audit-log-maxage"), logMaxBackups: flags.int("audit-log-maxbackup"),
            logMaxSizeMegabytes: flags.int("audit-log-maxsize"),
            webhookConfigFile: try readableFile("audit-webhook-config-file"),
            // The Banyan chart ships batches every five minutes; keep that unless told otherwise.
            batchMaxWait: banyan != nil && !flags.isSet("audit-webhook-batch-max-wait") ? .seconds(300) : maxWait,
            batchMaxSize: try positive("audit-webhook-batch-max-size"),
            batchBufferSize: try positive("audit-webhook-batch-buffer-size"),
            throttleEnabled: flags.bool("audit-webhook-batch-throttle-enable"), throttleQPS: throttleQPS,
            // As the API server checks it: only when throttling.
            throttleBurst: flags.bool("audit-webhook-batch-throttle-enable")
                ? try positive("audit-webhook-batch-throttle-burst") : 1,
            initialBackoff: initialBackoff,
            truncateEnabled: flags.bool("audit-webhook-truncate-enabled"),
            truncateMaxEventSize: flags.int("audit-webhook-truncate-max-event-size"),
            truncateMaxBatchSize: flags.int("audit-webhook-truncate-max-batch-size"),
            spoolDirectory: flags.string("audit-spool-dir"), spoolMaxBytes: flags.bytes("audit-spool-max-bytes"),
            banyan: banyan, logCompress: flags.bool("audit-log-compress"),
            logTruncateMaxEventSize: logTruncateMaxEventSize)

        verbosity = flags.int("v")
        guard verbosity >= 0 else { throw StartupError(flag: "v", "must not be negative") }
    }

    /// `--audit-log-mode` or `--audit-webhook-mode`: one of the API server's modes, and one this
    /// backend works in.
    private static func auditMode(_ flags: ParsedFlags, _ name: String, supported: [String]) throws(StartupError) {
        let mode = flags.string(name)
        guard ["batch", "blocking", "blocking-strict"].contains(mode) else {
            throw StartupError(
                flag: name, "invalid mode \"\(mode)\": allowed modes are batch, blocking, blocking-strict")
        }
        guard supported.contains(mode) else {
            let why =
                name == "audit-log-mode"
                ? "a failed audit write never fails the request here"
                : "the webhook's events are sent in batches from the durable spool"
            throw StartupError(
                flag: name, "\"\(mode)\" is not supported: \(why); use \(supported.joined(separator: " or "))")
        }
    }

    /// `--audit-log-version` or `--audit-webhook-version`: `audit.k8s.io/v1`, the one version the
    /// API server still writes.
    private static func auditVersion(_ flags: ParsedFlags, _ name: String) throws(StartupError) {
        guard flags.string(name) == "audit.k8s.io/v1" else {
            throw StartupError(
                flag: name, "invalid version \"\(flags.string(name))\": allowed versions are audit.k8s.io/v1")
        }
    }

    /// The `--oidc-*` flags validated into a verifier configuration; shared with `check-token`.
    public static func oidcConfiguration(_ flags: ParsedFlags) throws(StartupError) -> OIDCConfiguration {
        func optional(_ name: String) -> String? {
            let value = flags.string(name)
            return value.isEmpty ? nil : value
        }
        // One pair per flag, the value whole; a claim named again takes the last value, as the
        // API server's flag does.
        var requiredClaims: [String: String] = [:]
        for pair in flags.keyValues("oidc-required-claim") { requiredClaims[pair.key] = pair.value }
        do {
            return try OIDCConfiguration(
                issuerURL: flags.string("oidc-issuer-url"),
                clientID: flags.string("oidc-client-id"),
                usernameClaim: flags.string("oidc-username-claim"),
                // As kube-apiserver does, an empty prefix is the same as no prefix flag.
                usernamePrefix: optional("oidc-username-prefix"),
                groupsClaim: optional("oidc-groups-claim"),
                groupsPrefix: flags.string("oidc-groups-prefix"),
                requiredClaims: requiredClaims,
                signingAlgorithms: flags.strings("oidc-signing-algs"),
                caFile: optional("oidc-ca-file"))
        } catch {
            let missing = error.message == "is required"
            throw StartupError(
                flag: error.flag, missing ? "is required" : error.message,
                exitCode: error.flag == "oidc-ca-file" ? 1 : 2)
        }
    }

    private static func banyan(_ flags: ParsedFlags, environment: [String: String]) throws(StartupError) -> Banyan? {
        var restAPI = flags.string("banyan-restapi-url")
        guard let url = URLComponents(string: restAPI), let scheme = url.scheme?.lowercased(), let host = url.host,
            scheme == "https" || (scheme == "http" && ["127.0.0.1", "localhost", "::1"].contains(host))
        else {
            throw StartupError(flag: "banyan-restapi-url", "\"\(restAPI)\" must be an https:// URL")
        }
        // The events path and the exchange's are appended to it: anything after the path would
        // end up inside theirs, and a URL without a host fails at every attempt, forever.
        guard !host.isEmpty, url.user == nil, url.password == nil, url.query == nil, url.fragment == nil else {
            throw StartupError(
                flag: "banyan-restapi-url",
                "\"\(restAPI)\" must be a scheme, a host and at most a path prefix (no credentials, query or fragment)")
        }
        while restAPI.hasSuffix("/") { restAPI.removeLast() }
        let eventsPath = flags.string("banyan-events-path")
        guard eventsPath.hasPrefix("/") else { throw StartupError(flag: "banyan-events-path", "must start with /") }
        guard
            !eventsPath.contains(where: {
                $0 == "?" || $0 == "#" || $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true
            })
        else {
            throw StartupError(flag: "banyan-events-path", "must be a path alone, without spaces, ? or #")
        }
        var tokenFile: String?
        if !flags.string("banyan-refresh-token-file").isEmpty {
            let path = flags.string("banyan-refresh-token-file")
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw StartupError(flag: "banyan-refresh-token-file", "cannot read file \(path)", exitCode: 1)
            }
            tokenFile = path
        }
        let caFile = flags.string("banyan-ca-file")
        if !caFile.isEmpty && !FileManager.default.isReadableFile(atPath: caFile) {
            throw StartupError(flag: "banyan-ca-file", "cannot read file \(caFile)", exitCode: 1)
        }
        let serviceName = flags.string("banyan-service-name")
        let hasToken = tokenFile != nil || !(environment["BANYAN_REFRESH_TOKEN"] ?? "").isEmpty
        switch (serviceName.isEmpty, hasToken) {
        case (true, false): return nil
        case (true, true):
            throw StartupError(flag: "banyan-service-name", "is required when a Banyan refresh token is given")
        case (false, false):
            throw StartupError(
                flag: "banyan-refresh-token-file",
                "a refresh token is required when --banyan-service-name is set (file or BANYAN_REFRESH_TOKEN)")
        case (false, true):
            return Banyan(
                restAPIURL: restAPI, serviceName: serviceName,
                eventsPath: eventsPath, refreshTokenFile: tokenFile, caFile: caFile.isEmpty ? nil : caFile)
        }
    }
}
