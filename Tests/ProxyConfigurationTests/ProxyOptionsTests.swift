import CommandLineFlags
import Foundation
import ProxyConfiguration
import TestSupport
import Testing

/// Every start-up refusal names its flag and picks the right exit status.
@Suite struct ProxyOptionsTests {
    static let required = ["--oidc-issuer-url=https://issuer.example", "--oidc-client-id=kube"]

    func options(_ arguments: [String], environment: [String: String] = [:]) throws -> ProxyOptions {
        try ProxyOptions(ProxyFlags.flagSet.parse(Self.required + arguments), environment: environment)
    }

    func refusal(_ arguments: [String], environment: [String: String] = [:], bare: Bool = false) -> StartupError? {
        do {
            let flags = try ProxyFlags.flagSet.parse((bare ? [] : Self.required) + arguments)
            _ = try ProxyOptions(flags, environment: environment)
            return nil
        } catch let error as StartupError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func defaultsMatchTheOriginalProxy() throws {
        let options = try options([])
        #expect(options.serving.bindAddress == "0.0.0.0")
        #expect(options.serving.securePort == 6443)
        #expect(options.serving.readinessProbePort == 8080)
        #expect(options.serving.certificateDirectory == "/var/run/kubernetes")
        #expect(options.serving.minimumTLSVersion == .tls12)
        #expect(options.oidc.policy.usernameClaim == "sub")
        #expect(options.oidc.allowedAlgorithms == [.rs256])
        #expect(options.behaviour.flushInterval == .milliseconds(50))
        #expect(options.audit.batchMaxWait == .seconds(30))
        #expect(options.audit.batchMaxSize == 400)
        #expect(options.audit.batchBufferSize == 10000)
        #expect(options.audit.initialBackoff == .seconds(10))
        #expect(options.audit.spoolMaxBytes == 256 << 20)
        #expect(options.audit.banyan == nil)
        #expect(options.requestTimeout == nil)
    }

    @Test func missingIssuerAndClientIDAreUsageErrors() {
        #expect(refusal([], bare: true) == StartupError(flag: "oidc-issuer-url", "is required"))
        #expect(
            refusal(["--oidc-issuer-url=https://i.example"], bare: true)
                == StartupError(flag: "oidc-client-id", "is required"))
    }

    @Test func plainHTTPIssuerIsRefused() {
        #expect(refusal(["--oidc-issuer-url=http://issuer.example"])?.flag == "oidc-issuer-url")
    }

    @Test func hmacOrNoneSigningAlgorithmIsRefused() {
        #expect(refusal(["--oidc-signing-algs=RS256,HS256"])?.flag == "oidc-signing-algs")
        #expect(refusal(["--oidc-signing-algs=none"])?.flag == "oidc-signing-algs")
    }

    @Test func emptyUsernameClaimIsRefused() {
        #expect(refusal(["--oidc-username-claim="])?.flag == "oidc-username-claim")
    }

    @Test func unreadableCAFileCannotStart() {
        let error = refusal(["--oidc-ca-file=/nonexistent/ca.pem"])
        #expect(error?.flag == "oidc-ca-file")
        #expect(error?.exitCode == 1)
    }

    /// As the API server declares the flag (`MapStringString` with `NoSplit`): one pair per
    /// flag, the value whole, commas and all; a claim named again takes the last value.
    @Test func requiredClaimsAreOnePairPerFlagTheValueWhole() throws {
        let options = try options(["--oidc-required-claim=hd=example.com", "--oidc-required-claim", "tier=gold"])
        #expect(options.oidc.policy.requiredClaims == ["hd": "example.com", "tier": "gold"])
        #expect(
            try self.options(["--oidc-required-claim=tenant=acme,role=admin"]).oidc.policy.requiredClaims
                == ["tenant": "acme,role=admin"])
        #expect(
            try self.options(["--oidc-required-claim=hd=a", "--oidc-required-claim= hd = b "]).oidc.policy
                .requiredClaims == ["hd": "b"])
        #expect(throws: (any Error).self) {
            try ProxyFlags.flagSet.parse(Self.required + ["--oidc-required-claim=no-equals"])
        }
    }

    @Test func emptyUsernamePrefixMeansUnset() throws {
        #expect(try options(["--oidc-username-prefix="]).oidc.policy.usernamePrefix == "https://issuer.example#")
        #expect(try options(["--oidc-username-prefix=-"]).oidc.policy.usernamePrefix == "")
        #expect(try options(["--oidc-username-prefix=banyan:"]).oidc.policy.usernamePrefix == "banyan:")
    }

    @Test func portsOutOfRangeAreRefused() {
        #expect(refusal(["--secure-port=70000"])?.flag == "secure-port")
        #expect(refusal(["--readiness-probe-port=-1"])?.flag == "readiness-probe-port")
        #expect(refusal(["--readiness-probe-port=6443"])?.flag == "readiness-probe-port")
    }

    @Test func certificateAndKeyMustComeTogether() throws {
        let directory = try TemporaryDirectory("options")
        defer { directory.remove() }
        let file = try directory.write("x", to: "file")
        #expect(refusal(["--tls-cert-file=\(file)"])?.flag == "tls-private-key-file")
        #expect(refusal(["--tls-private-key-file=\(file)"])?.flag == "tls-cert-file")
        #expect(refusal(["--tls-cert-file=/nonexistent"])?.exitCode == 1)
    }

    @Test func tlsVersionAndCipherSuitesAreValidated() throws {
        #expect(refusal(["--tls-min-version=VersionTLS10"])?.flag == "tls-min-version")
        #expect(refusal(["--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA"])?.flag == "tls-cipher-suites")
        let options = try options(["--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256"])
        #expect(options.serving.cipherSuites == ["ECDHE-RSA-AES128-GCM-SHA256"])
        #expect(try self.options(["--tls-min-version=VersionTLS13"]).serving.minimumTLSVersion == .tls13)
    }

    @Test func negativeDurationsAreRefused() {
        #expect(refusal(["--flush-interval=-1s"])?.flag == "flush-interval")
        #expect(refusal(["--request-timeout=-5s"])?.flag == "request-timeout")
    }

    @Test func requestTimeoutZeroMeansNone() throws {
        #expect(try options(["--request-timeout=0"]).requestTimeout == nil)
        #expect(try options(["--request-timeout=30s"]).requestTimeout == .seconds(30))
    }

    @Test func extraUserHeaderKeysRepeatInOrder() throws {
        // Keys are percent-escaped when sent (client-go), so any non-empty key is acceptable.
        #expect(refusal(["--extra-user-headers=scopes/a b=v"]) == nil)
        let options = try options(["--extra-user-headers=team=a,team=b", "--extra-user-headers=env=prod"])
        #expect(options.behaviour.extraUserHeaders.map(\.key) == ["team", "team", "env"])
    }

    @Test func auditValuesAreValidated() {
        #expect(refusal(["--audit-log-format=legacy"])?.flag == "audit-log-format")
        #expect(refusal(["--audit-webhook-batch-max-size=0"])?.flag == "audit-webhook-batch-max-size")
        #expect(refusal(["--audit-webhook-batch-throttle-qps=0"])?.flag == "audit-webhook-batch-throttle-qps")
        #expect(refusal(["--audit-spool-max-bytes=0"])?.flag == "audit-spool-max-bytes")
        #expect(refusal(["--audit-log-maxage=-1"])?.flag == "audit-log-maxage")
        #expect(refusal(["--audit-policy-file=/nonexistent"])?.exitCode == 1)
        let truncating = "--audit-webhook-truncate-enabled=true"
        #expect(
            refusal([truncating, "--audit-webhook-truncate-max-event-size=0"])?.flag
                == "audit-webhook-truncate-max-event-size")
        #expect(
            refusal([
                truncating, "--audit-webhook-truncate-max-event-size=2048",
                "--audit-webhook-truncate-max-batch-size=1024",
            ])?
            .flag == "audit-webhook-truncate-max-batch-size")
        // Not truncating, as the API server: the sizes are not checked.
        #expect(refusal(["--audit-webhook-truncate-max-event-size=0"]) == nil)
    }

    /// The API server's other audit flags are taken, so its flags carry over: the modes and
    /// versions the proxy works in, checked (as there) only for a backend in use.
    @Test func theAPIServersAuditModesAndVersionsAreTaken() throws {
        let directory = try TemporaryDirectory("options")
        defer { directory.remove() }
        let webhook = "--audit-webhook-config-file=" + (try directory.write("kind: Config\n", to: "webhook.yaml"))
        let log = "--audit-log-path=/var/log/audit.log"
        let defaults = try options([log, webhook])
        #expect(defaults.warnings.isEmpty)
        #expect(
            try options([
                log, webhook, "--audit-log-mode=blocking", "--audit-log-version=audit.k8s.io/v1",
                "--audit-webhook-mode=batch", "--audit-webhook-version=audit.k8s.io/v1",
                "--audit-log-batch-max-size=100", "--audit-log-truncate-max-batch-size=1",
            ]).warnings.isEmpty)
        #expect(
            try options([log, "--audit-log-mode=batch"]).warnings == [
                "--audit-log-mode=batch: the audit log is written as each request completes, as in blocking mode"
            ])

        let strict = refusal([log, "--audit-log-mode=blocking-strict"])
        #expect(strict?.flag == "audit-log-mode")
        #expect(strict?.message.hasPrefix("\"blocking-strict\" is not supported") == true)
        #expect(refusal([webhook, "--audit-webhook-mode=blocking"])?.flag == "audit-webhook-mode")
        #expect(
            refusal([log, "--audit-log-mode=async"])?.message
                == "invalid mode \"async\": allowed modes are batch, blocking, blocking-strict")
        #expect(refusal([webhook, "--audit-webhook-version=audit.k8s.io/v1beta1"])?.flag == "audit-webhook-version")
        #expect(refusal([log, "--audit-log-version=v1"])?.flag == "audit-log-version")
        // No backend, nothing to check.
        #expect(refusal(["--audit-log-mode=blocking-strict", "--audit-webhook-version=x"]) == nil)
    }

    @Test func theDeprecatedInitialBackoffFlagStillWorks() throws {
        let deprecated = try options(["--audit-webhook-batch-initial-backoff=3s"])
        #expect(deprecated.audit.initialBackoff == .seconds(3))
        #expect(
            deprecated.warnings == [
                "--audit-webhook-batch-initial-backoff is deprecated: use --audit-webhook-initial-backoff"
            ])
        #expect(
            try options(["--audit-webhook-batch-initial-backoff=3s", "--audit-webhook-initial-backoff=3s"]).audit
                .initialBackoff == .seconds(3))
        #expect(
            refusal(["--audit-webhook-batch-initial-backoff=3s", "--audit-webhook-initial-backoff=5s"])?.flag
                == "audit-webhook-batch-initial-backoff")
        #expect(try options([]).audit.initialBackoff == .seconds(10))
    }

    /// The burst is checked only when throttling, as the API server checks it.
    @Test func theThrottleBurstMattersOnlyWhenThrottling() throws {
        #expect(refusal(["--audit-webhook-batch-throttle-burst=0"])?.flag == "audit-webhook-batch-throttle-burst")
        #expect(
            refusal(["--audit-webhook-batch-throttle-enable=false", "--audit-webhook-batch-throttle-burst=0"]) == nil)
    }

    @Test func logTruncationAndCompression() throws {
        let plain = try options([])
        #expect(plain.audit.logTruncateMaxEventSize == nil)
        #expect(!plain.audit.logCompress)
        let set = try options([
            "--audit-log-truncate-enabled", "--audit-log-truncate-max-event-size=2048", "--audit-log-compress",
        ])
        #expect(set.audit.logTruncateMaxEventSize == 2048)
        #expect(set.audit.logCompress)
        #expect(
            refusal(["--audit-log-truncate-enabled", "--audit-log-truncate-max-event-size=0"])?.flag
                == "audit-log-truncate-max-event-size")
    }

    @Test func banyanSinkNeedsServiceNameAndToken() throws {
        let directory = try TemporaryDirectory("options")
        defer { directory.remove() }
        let tokenFile = try directory.write("refresh\n", to: "tokenFile")
        #expect(refusal(["--banyan-service-name=cluster-a"])?.flag == "banyan-refresh-token-file")
        #expect(refusal(["--banyan-refresh-token-file=\(tokenFile)"])?.flag == "banyan-service-name")
        #expect(refusal(["--banyan-refresh-token-file=/nonexistent", "--banyan-service-name=a"])?.exitCode == 1)
        #expect(refusal(["--banyan-restapi-url=http://banyan.example"])?.flag == "banyan-restapi-url")
        let fromEnvironment = try options(["--banyan-service-name=a"], environment: ["BANYAN_REFRESH_TOKEN": "t"])
        #expect(fromEnvironment.audit.banyan?.serviceName == "a")
    }

    /// The events and exchange paths are appended to the URL: a query, fragment or credentials
    /// would end up inside them, and a URL without a host failed at every attempt.
    @Test func theBanyanURLIsASchemeAHostAndAtMostAPathPrefix() throws {
        let token = ["BANYAN_REFRESH_TOKEN": "t"]
        for bad in [
            "https://", "https:///prefix", "https://user:pw@banyan.example", "https://banyan.example/?a=b",
            "https://banyan.example/#top", "ftp://banyan.example",
        ] {
            #expect(
                refusal(["--banyan-restapi-url=\(bad)", "--banyan-service-name=a"], environment: token)?.flag
                    == "banyan-restapi-url", "\(bad)")
        }
        for bad in ["/api/v1/events?x=1", "/api/v1/events kubernetes", "/api#x", "api/v1/events"] {
            #expect(
                refusal(["--banyan-events-path=\(bad)", "--banyan-service-name=a"], environment: token)?.flag
                    == "banyan-events-path", "\(bad)")
        }
        let prefixed = try options(
            ["--banyan-restapi-url=https://banyan.example/tenant-a//", "--banyan-service-name=a"], environment: token)
        #expect(prefixed.audit.banyan?.restAPIURL == "https://banyan.example/tenant-a")
    }

    @Test func banyanSinkDefaultsBatchWaitToFiveMinutesUnlessGiven() throws {
        let directory = try TemporaryDirectory("options")
        defer { directory.remove() }
        let tokenFile = try directory.write("refresh", to: "tokenFile")
        let on = try options(["--banyan-service-name=a", "--banyan-refresh-token-file=\(tokenFile)"])
        #expect(on.audit.batchMaxWait == .seconds(300))
        #expect(on.audit.banyan?.restAPIURL == "https://net.banyanops.com")
        #expect(on.audit.banyan?.eventsPath == "/api/v1/events/kubernetes")
        let explicit = try options([
            "--banyan-service-name=a", "--banyan-refresh-token-file=\(tokenFile)", "--audit-webhook-batch-max-wait=30s",
        ])
        #expect(explicit.audit.batchMaxWait == .seconds(30))
    }

    @Test func helpListsEveryFlagWithItsDefault() {
        let usage = ProxyFlags.flagSet.usage()
        for flag in ProxyFlags.flagSet.flags where !flag.hidden {
            #expect(usage.contains("--\(flag.name)"), "--help does not list --\(flag.name)")
        }
        #expect(usage.contains(#"--oidc-username-claim string"#))
        #expect(usage.contains(#"(default "sub")"#))
        #expect(usage.contains("(default 6443)"))
        #expect(usage.contains("(default 50ms)"))
        #expect(usage.contains("(default [RS256])"))
    }
}
