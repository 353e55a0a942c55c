import AuditBatcher
import EgressProxy
import Foundation
import Logging
import NIOHTTP1
import UpstreamConfiguration

/// `--audit-webhook-config-file`: POSTs each batch as an `audit.k8s.io/v1` `EventList` to the
/// server named by a kubeconfig-format file, as the API server's audit webhook does (cluster
/// `server`, `certificate-authority(-data)`, `insecure-skip-tls-verify`, `tls-server-name`; user `token`,
/// `tokenFile`, `client-certificate(-data)` + key, basic auth). Plain http is accepted to any
/// host, as the API server's: the Banyan sidecar on `http://localhost:<port>`, a collector on
/// `http://collector.logging.svc:8080`; over it the user's credential is not sent.
public final class WebhookSink: AuditSink {
    public var backend: String { "webhook" }

    /// The URL batches are POSTed to: the cluster's `server`, its host replaced by `tls-server-name`
    /// when set (the connection still goes to the server's own host).
    public let url: String
    /// The `Host` the server's URL names, when `tls-server-name` took its place in ``url``: as
    /// client-go, the name only changes SNI and the certificate check, not the request's `Host`.
    let host: String?
    private let authorization: Authorization
    /// Internal for tests.
    let transport: SinkTransport

    private enum Authorization: Sendable {
        case none
        case bearer(TokenSource)
        case basic(String)
    }

    /// Reads and checks the file now: a broken webhook configuration is a start-up error.
    /// `logger` takes the start-up notes: a credential that goes unused, the egress proxy that
    /// `environment`'s `HTTPS_PROXY` and `NO_PROXY` choose for an https server.
    public init(
        configFile: String, environment: [String: String] = [:], logger: Logger = Logger(label: "audit-webhook")
    ) throws {
        let target = try UpstreamResolver(environment: [:], role: .auditWebhook)
            .resolve(UpstreamFlags(kubeconfig: configFile))
        // client-go merges a user's credential into the client only when the transport is TLS.
        var credential = target.credential
        if target.baseURL.scheme == "http", credential != .none {
            logger.warning(
                "audit webhook credential not sent: the server is plain http",
                metadata: ["file": "\(configFile)", "credential": "\(credential)"])
            credential = .none
        }
        // `tls-server-name`: async-http-client takes the name for SNI and certificate checks from
        // the URL, so the URL names it and the connection is pointed at the server's own host.
        let (requestURL, dnsOverride) = target.urlNamingTLSServer
        url = requestURL.absoluteString
        host =
            dnsOverride.isEmpty
            ? nil : target.baseURL.host.map { name in target.baseURL.port.map { "\(name):\($0)" } ?? name }
        let trust: SinkTransport.Trust
        switch target.trust {
        case .systemRoots: trust = .systemRoots
        case .caPEM(let pem): trust = .only(pem: Array(pem))
        case .insecure: trust = .insecure
        }
        var clientCertificate: (certificatePEM: [UInt8], keyPEM: [UInt8])?
        switch credential {
        case .none:
            authorization = .none
        case .bearerToken(let token):
            authorization = .bearer(TokenSource(.value(token)))
        case .bearerTokenFile(let path):
            authorization = .bearer(TokenSource(.file(path: path)))
        case .clientCertificate(let certificatePEM, let keyPEM):
            authorization = .none
            clientCertificate = (Array(certificatePEM), Array(keyPEM))
        case .basic(let username, let password):
            authorization = .basic("Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
        }
        // The file's `proxy-url` wins, for every request, as client-go's; else the environment's.
        let proxy =
            try target.proxyURL.map { try EgressProxy.parse($0, variable: "proxy-url in \(configFile)") }
            ?? EgressProxy.forURL(target.baseURL.absoluteString, environment: environment)
        if let proxy {
            logger.info(
                "audit sink connects through an egress proxy", metadata: ["sink": "webhook", "proxy": "\(proxy)"])
        }
        // The API server's webhook client gives a request 30 s (apiserver util/webhook defaultRequestTimeout).
        transport = try SinkTransport(
            trust: trust, clientCertificate: clientCertificate, requestTimeout: .seconds(30), dnsOverride: dnsOverride,
            proxy: proxy)
    }

    public func send(_ body: [UInt8]) async -> SinkAnswer {
        var headers = HTTPHeaders()
        var secrets: [String] = []
        switch authorization {
        case .none: break
        case .bearer(let source):
            if let token = source.current() {
                headers.add(name: "Authorization", value: "Bearer \(token)")
                secrets.append(token)
            }
        case .basic(let value):
            headers.add(name: "Authorization", value: value)
        }
        headers.add(name: "Content-Type", value: "application/json")
        if let host { headers.add(name: "Host", value: host) }
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "kube-oidc-proxy")
        let response: SinkTransport.Response
        do {
            response = try await transport.post(url, headers: headers, body: body)
        } catch {
            return .failed(.retryable(retryAfter: nil), detail: SinkTransport.describe(error))
        }
        return SinkResponse.classify(
            status: response.status, retryAfter: response.headers.first(name: "Retry-After"), body: response.body,
            redacting: secrets)
    }

    /// A token file is re-read at each send already; there is nothing to exchange.
    public func refreshCredentials() async -> CredentialRefresh { .refreshed }

    public func shutdown() async {
        await transport.shutdown()
    }
}
