import CommandLineFlags

/// Every flag of `kube-oidc-proxy`, with the defaults of jetstack kube-oidc-proxy v1.0 and the
/// Kubernetes API server it borrows them from. `--help` and the README's flag reference are
/// both rendered from this one list, so they cannot drift from the code.
public enum ProxyFlags {
    public static let flagSet = FlagSet(oidc + serving + upstream + proxy + audit + banyan + general)

    /// The OIDC flags alone: `check-token` takes exactly these, so it judges a token as the proxy would.
    public static let oidc: [FlagSpec] = [
        .string(
            "oidc-issuer-url",
            usage: "HTTPS `URL` of the OpenID issuer; the discovery document's issuer must equal it exactly (required)"),
        .string("oidc-client-id", usage: "client `ID` the ID token's aud claim must contain (required)"),
        .string("oidc-ca-file", usage: "PEM bundle trusted for the issuer's TLS instead of the system roots"),
        .string("oidc-username-claim", default: "sub", usage: "JWT claim to use as the user name"),
        .string(
            "oidc-username-prefix",
            usage:
                "prefix for user names; unset: claims other than email are prefixed with '<issuer-url>#'; '-' disables prefixing"
        ),
        .string("oidc-groups-claim", usage: "JWT claim holding the user's groups: a string or an array of strings"),
        .string("oidc-groups-prefix", usage: "prefix for every group"),
        .stringList(
            "oidc-signing-algs", default: ["RS256"],
            usage:
                "allowed JOSE signing algorithms (RS256/384/512, ES256/384/512, PS256/384/512); none and HMAC are always refused"
        ),
        .keyValuePerOccurrence(
            "oidc-required-claim",
            usage:
                "key=value claim the ID token must carry with exactly that string value (commas included); repeat for several"
        ),
    ]

    static let serving: [FlagSpec] = [
        .string(
            "bind-address", default: "0.0.0.0",
            usage: "IP address to listen on for HTTPS (0.0.0.0: every IPv4 and IPv6 address)"),
        .int("secure-port", default: 6443, usage: "port to serve HTTPS on"),
        .string("tls-cert-file", usage: "PEM serving certificate (chain); with --tls-private-key-file"),
        .string("tls-private-key-file", usage: "PEM private key for --tls-cert-file"),
        .string(
            "cert-dir", default: "/var/run/kubernetes",
            usage: "directory for the generated self-signed certificate when no certificate files are given"),
        .string("tls-min-version", default: "VersionTLS12", usage: "minimum TLS version: VersionTLS12 or VersionTLS13"),
        .stringList("tls-cipher-suites", usage: "TLS 1.2 cipher suites (IANA names); default: a secure set"),
        .int(
            "readiness-probe-port", default: 8080,
            usage: "plain-HTTP port for /ready, /healthz and /metrics, on every interface"),
        .duration(
            "tls-reload-interval", default: .seconds(10),
            usage: "how often the serving certificate files are checked for rotation", hidden: true),
        .duration(
            "tls-handshake-timeout", default: .seconds(32),
            usage: "a connection that has not finished its TLS handshake this long after it opened is closed",
            hidden: true),
        .duration(
            "idle-connection-timeout", default: .seconds(90),
            usage: "a connection with no request in progress this long is closed", hidden: true),
    ]

    static let upstream: [FlagSpec] = [
        .string("kubeconfig", usage: "kubeconfig for the API server; default: in-cluster configuration"),
        .string("context", usage: "kubeconfig context to use"),
        .string("cluster", usage: "kubeconfig cluster to use"),
        .string("user", usage: "kubeconfig user to use"),
        .string("server", shorthand: "s", usage: "address and port of the Kubernetes API server"),
        .string("token", usage: "bearer token for the API server"),
        .string("certificate-authority", usage: "CA file for the API server's TLS"),
        .string("client-certificate", usage: "client certificate file for TLS to the API server"),
        .string("client-key", usage: "client key file for TLS to the API server"),
        .bool("insecure-skip-tls-verify", usage: "do not verify the API server's certificate (insecure)"),
        .duration("request-timeout", usage: "time limit for one proxied request; 0 means none"),
    ]

    static let proxy: [FlagSpec] = [
        .bool("disable-impersonation", usage: "forward authenticated requests as they came, with the user's own token"),
        .bool(
            "token-passthrough",
            usage:
                "check tokens that fail OIDC verification with a TokenReview and forward them unchanged if authenticated"
        ),
        .stringList("token-passthrough-audiences", usage: "audiences for the passthrough TokenReview"),
        .bool("extra-user-header-client-ip", usage: "add Impersonate-Extra-Remote-Client-Ip with the client's IP"),
        .keyValues("extra-user-headers", usage: "key=value pairs added as Impersonate-Extra-<key>; keys may repeat"),
        .duration("flush-interval", default: .milliseconds(50), usage: "how often buffered response bytes are flushed"),
    ]

    static let audit: [FlagSpec] = [
        .string("audit-policy-file", usage: "audit.k8s.io/v1 Policy file; no policy, no auditing"),
        .string("audit-log-path", usage: "audit log file; '-' means standard output"),
        .int("audit-log-maxage", usage: "days to keep rotated audit log files"),
        .int("audit-log-maxbackup", usage: "number of rotated audit log files to keep"),
        .int("audit-log-maxsize", usage: "megabytes an audit log file may grow to before rotation (0: 100)"),
        .string("audit-log-format", default: "json", usage: "audit log format: json"),
        .bool("audit-log-compress", usage: "gzip rotated audit log files"),
        .string(
            "audit-log-mode", default: "blocking",
            usage: "blocking or batch: either way each event is written as its request completes"),
        .string("audit-log-version", default: "audit.k8s.io/v1", usage: "audit event API version: audit.k8s.io/v1"),
        .bool("audit-log-truncate-enabled", usage: "truncate audit log events that are too large"),
        .int(
            "audit-log-truncate-max-event-size", default: 100 * 1024,
            usage: "bytes an audit log event may take before its objects are removed (when truncating)"),
        // The API server's log batching and batch truncation: the log writes each exchange's
        // events as it completes, so these are taken for compatibility and change nothing.
        .int("audit-log-truncate-max-batch-size", default: 10 * 1024 * 1024, usage: "no effect", hidden: true),
        .int("audit-log-batch-buffer-size", default: 10000, usage: "no effect", hidden: true),
        .int("audit-log-batch-max-size", default: 1, usage: "no effect", hidden: true),
        .duration("audit-log-batch-max-wait", usage: "no effect", hidden: true),
        .bool("audit-log-batch-throttle-enable", usage: "no effect", hidden: true),
        .float("audit-log-batch-throttle-qps", usage: "no effect", hidden: true),
        .int("audit-log-batch-throttle-burst", usage: "no effect", hidden: true),
        .string("audit-webhook-config-file", usage: "kubeconfig-format file naming the audit webhook"),
        .string(
            "audit-webhook-mode", default: "batch",
            usage: "batch: events go in batches from the durable spool (the only mode)"),
        .string("audit-webhook-version", default: "audit.k8s.io/v1", usage: "audit event API version: audit.k8s.io/v1"),
        .duration(
            "audit-webhook-batch-max-wait", default: .seconds(30),
            usage: "longest an event waits before its batch is sent (300s when the Banyan sink is on)"),
        .int("audit-webhook-batch-max-size", default: 400, usage: "most events in one batch"),
        .int("audit-webhook-batch-buffer-size", default: 10000, usage: "events buffered before batching"),
        .bool("audit-webhook-batch-throttle-enable", default: true, usage: "throttle batch sending"),
        .float("audit-webhook-batch-throttle-qps", default: 10, usage: "batches per second sent at most"),
        .int("audit-webhook-batch-throttle-burst", default: 15, usage: "batches sent at once before throttling"),
        .duration("audit-webhook-initial-backoff", default: .seconds(10), usage: "first wait after a failed send"),
        .duration(
            "audit-webhook-batch-initial-backoff", default: .seconds(10),
            usage: "deprecated: --audit-webhook-initial-backoff", hidden: true),
        .bool("audit-webhook-truncate-enabled", usage: "truncate events and batches that are too large"),
        .int(
            "audit-webhook-truncate-max-event-size", default: 100 * 1024,
            usage: "bytes an event may take before its objects are removed (when truncating)"),
        .int(
            "audit-webhook-truncate-max-batch-size", default: 10 * 1024 * 1024,
            usage: "bytes a batch may take before it is sent in parts (when truncating)"),
        .string(
            "audit-spool-dir", default: "/var/lib/kube-oidc-proxy/audit",
            usage: "directory of the durable audit spool"),
        .byteQuantity(
            "audit-spool-max-bytes", default: 256 << 20,
            usage: "spool size limit (plain bytes or Ki/Mi/Gi); past it the oldest events are dropped"),
    ]

    static let banyan: [FlagSpec] = [
        .string("banyan-restapi-url", default: "https://net.banyanops.com", usage: "Banyan REST API base URL"),
        .string("banyan-service-name", usage: "Banyan service name the audit events belong to"),
        .string(
            "banyan-refresh-token-file",
            usage: "file holding the Banyan refresh token (else env BANYAN_REFRESH_TOKEN)"),
        .string("banyan-events-path", default: "/api/v1/events/kubernetes", usage: "path audit batches are POSTed to"),
        .string("banyan-ca-file", usage: "PEM bundle trusted for the Banyan API in addition to the system roots"),
    ]

    static let general: [FlagSpec] = [
        .int("v", shorthand: "v", usage: "log verbosity: 0 info, 2 debug, 4 trace"),
        .bool("version", usage: "print the version and exit"),
        .bool("help", shorthand: "h", usage: "show this help and exit"),
    ]
}
