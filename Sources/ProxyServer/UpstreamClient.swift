import AsyncHTTPClient
import Foundation
import Impersonation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import UpstreamConfiguration

/// The clients to the Kubernetes API server, with the proxy's own credentials. A service-account token file is re-read when it changes, as
/// the kubelet rotates projected tokens.
public final class UpstreamClient: Sendable {
    public let target: UpstreamTarget
    /// For the proxy's own calls (TokenReview): few, and not on the request path's hot loop.
    public let http: HTTPClient
    /// Forwarded requests: keep-alive HTTP/1.1 connections per event loop.
    let pool: UpstreamConnectionPool
    /// HTTP/1.1-only TLS: upgrade tunnels (a connection of their own) and keep-alive forwarding.
    private let tunnelTLS: NIOSSLContext?
    /// For requests that go on with the user's own credentials (`--disable-impersonation`, a
    /// `--token-passthrough` token): connections that present no client certificate. The API
    /// server authenticates a certificate before a bearer token, so the proxy's would have made
    /// every such request the proxy's own, impersonation headers and all. The same pool and
    /// context as above unless the proxy's credential is a client certificate.
    private let userPool: UpstreamConnectionPool
    private let userTunnelTLS: NIOSSLContext?
    private let tokenFile: TokenFile?
    /// The server URL for async-http-client (naming `tls-server-name` when set), no trailing slash.
    private let requestBase: String

    public init(target: UpstreamTarget) throws {
        self.target = target
        var tls = TLSConfiguration.makeClientConfiguration()
        switch target.trust {
        case .systemRoots: break
        case .caPEM(let pem): tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem)))
        case .insecure: tls.certificateVerification = .none
        }
        if case .clientCertificate(let certificatePEM, let keyPEM) = target.credential {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM), format: .pem))
        }
        // A pool of connections made with `tls`, and the context of the tunnels that go with it.
        func pooled(_ tls: TLSConfiguration) throws -> (tunnel: NIOSSLContext?, pool: UpstreamConnectionPool) {
            var tunnel: NIOSSLContext?
            var multiplexed: NIOSSLContext?
            if target.baseURL.scheme != "http" {
                var http1 = tls
                http1.applicationProtocols = ["http/1.1"]
                tunnel = try NIOSSLContext(configuration: http1)
                var either = tls
                either.applicationProtocols = ["h2", "http/1.1"]
                multiplexed = try NIOSSLContext(configuration: either)
            }
            let endpoint = Self.endpoint(
                target.baseURL, tls: tunnel, multiplexedTLS: multiplexed, tlsServerName: target.tlsServerName)
            return (tunnel, UpstreamConnectionPool(endpoint: endpoint))
        }
        (tunnelTLS, pool) = try pooled(tls)
        if case .clientCertificate = target.credential {
            var anonymous = tls
            anonymous.certificateChain = []
            anonymous.privateKey = nil
            (userTunnelTLS, userPool) = try pooled(anonymous)
        } else {
            (userTunnelTLS, userPool) = (tunnelTLS, pool)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        // HTTP/1.1 upstream: over HTTP/2, async-http-client kept reading a fast API server's
        // response while the client was slower (a 200 MiB download raised the proxy's RSS by
        // ~300 MiB; over HTTP/1.1 by ~12 MiB). Bounded memory comes before multiplexing.
        configuration.httpVersion = .http1Only
        // Watches are long-lived and may be silent for minutes: no read timeout. Requests are
        // bounded by --request-timeout instead.
        configuration.timeout = .init(connect: .seconds(10), read: nil)
        configuration.connectionPool = .init(
            idleTimeout: .seconds(90), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
        // A refused connection is a 502 now, as Go's transport gives, not after 10 s of retries.
        configuration.connectionPool.retryConnectionEstablishment = false
        // `tls-server-name`: the request URL names it (AHC takes SNI and the name it verifies
        // from the URL) while the connection still goes to the server's own address.
        let (requestURL, dnsOverride) = target.urlNamingTLSServer
        configuration.dnsOverride = dnsOverride
        var base = requestURL.absoluteString
        if base.hasSuffix("/") { base.removeLast() }
        requestBase = base
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        if case .bearerTokenFile(let path) = target.credential {
            tokenFile = TokenFile(path: path)
        } else {
            tokenFile = nil
        }
    }

    /// The connections for requests forwarded in `mode`.
    func pool(for mode: ForwardingMode) -> UpstreamConnectionPool {
        mode == .impersonate ? pool : userPool
    }

    /// The TLS context of an upgrade tunnel forwarded in `mode`.
    func tunnelTLSContext(for mode: ForwardingMode) -> NIOSSLContext? {
        mode == .impersonate ? tunnelTLS : userTunnelTLS
    }

    public func shutdown() async {
        pool.closeIdle()
        if userPool !== pool { userPool.closeIdle() }
        try? await http.shutdown()
    }

    static func endpoint(
        _ url: URL, tls: NIOSSLContext?, multiplexedTLS: NIOSSLContext?, tlsServerName: String? = nil
    ) -> UpstreamEndpoint {
        let host = url.host ?? "127.0.0.1"
        let port = url.port ?? (url.scheme == "http" ? 80 : 443)
        let hostName = host.contains(":") ? "[\(host)]" : host
        var prefix = url.path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        return UpstreamEndpoint(
            host: host, port: port, tls: tls, multiplexedTLS: multiplexedTLS,
            hostHeader: url.port.map { "\(hostName):\($0)" } ?? hostName,
            serverHostname: tlsServerName ?? (ipAddressBytes(host) == nil ? host : nil),
            pathPrefix: prefix)
    }

    /// The `Authorization` value the proxy presents upstream, if it uses a header credential.
    func authorization() -> String? {
        switch target.credential {
        case .bearerToken(let token): return "Bearer \(token)"
        case .bearerTokenFile: return tokenFile?.current().map { "Bearer \($0)" }
        case .basic(let username, let password):
            return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        case .none, .clientCertificate: return nil
        }
    }

    /// The URL for a request URI (`/api/v1/pods?watch=true`), under the server's path prefix.
    func url(for uri: String) -> String {
        requestBase + (uri.hasPrefix("/") ? uri : "/" + uri)
    }

    func execute(_ request: HTTPClientRequest, deadline: NIODeadline) async throws -> HTTPClientResponse {
        try await http.execute(request, deadline: deadline)
    }
}

/// A bearer token kept in a file, re-read at most every few seconds and only when it changed.
final class TokenFile: Sendable {
    private struct State {
        var token: String?
        var modified: Date?
        var checked: ContinuousClock.Instant?
    }

    let path: String
    private let state = Mutex(State())
    private let recheckInterval: Duration

    init(path: String, recheckInterval: Duration = .seconds(5)) {
        self.path = path
        self.recheckInterval = recheckInterval
    }

    func current() -> String? {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let checked = state.checked, now - checked < recheckInterval, state.token != nil {
                return state.token
            }
            state.checked = now
            let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            if modified != state.modified || state.token == nil {
                if let data = FileManager.default.contents(atPath: path) {
                    state.token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    state.modified = modified
                }
            }
            return state.token
        }
    }
}
