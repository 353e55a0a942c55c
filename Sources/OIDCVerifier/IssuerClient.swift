import AsyncHTTPClient
import EgressProxy
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The verifier's only I/O: discovery, JWKS and distributed-claim fetches over HTTPS.
struct IssuerClient: Sendable {
    /// No discovery document, JWKS or claim JWT is anywhere near this; a larger body is refused.
    static let maximumBodySize = 1 << 20

    struct FetchError: Error, CustomStringConvertible {
        let description: String
    }

    struct Discovery: Sendable, Equatable {
        let issuer: String
        let jwksURL: String
    }

    let http: HTTPClient
    let timeout: TimeAmount
    /// The client through the egress proxy (`proxy`), and the environment that says which hosts
    /// take it.
    var proxied: (http: HTTPClient, proxy: EgressProxy, environment: [String: String])? = nil

    /// The client to fetch `url` with: through the egress proxy unless the environment (its
    /// `NO_PROXY`, a loopback host) says direct.
    func client(for url: String) throws -> HTTPClient {
        guard let proxied, try EgressProxy.forURL(url, environment: proxied.environment) != nil else { return http }
        return proxied.http
    }

    /// Clients for `caFile`'s trust: a direct one, and one through the egress proxy that
    /// `environment` names, if any (an unusable setting is an error naming its variable).
    static func make(caFile: String?, environment: [String: String], timeout: TimeAmount) throws -> IssuerClient {
        // Decided before a client exists, so that an unusable setting leaves none to shut down.
        let proxy = try EgressProxy.configured(in: environment)
        var client = IssuerClient(http: try makeHTTPClient(caFile: caFile), timeout: timeout)
        if let proxy {
            do {
                client.proxied = (try makeHTTPClient(caFile: caFile, proxy: proxy), proxy, environment)
            } catch {
                try? client.http.syncShutdown()
                throw error
            }
        }
        return client
    }

    func shutdown() async {
        try? await http.shutdown()
        try? await proxied?.http.shutdown()
    }

    static func makeHTTPClient(caFile: String?, proxy: EgressProxy? = nil) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            // As the API server does, a given CA bundle replaces the system roots.
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        configuration.redirectConfiguration = .follow(max: 3, allowCycles: false)
        // The verifier backs off between attempts itself; one attempt should fail fast.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.proxy = proxy?.asyncHTTPClientProxy
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Discovery as go-oidc does it: the document's `issuer` must equal the configured issuer.
    func discover(issuer: String) async throws -> Discovery {
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let (body, _) = try await get(base + "/.well-known/openid-configuration")
        let document: [String: JSONValue]
        do { document = try JSONValue.parseObject(body) } catch {
            throw FetchError(description: "discovery document is not a JSON object")
        }
        let advertised = document["issuer"]?.stringValue
        guard advertised == issuer else {
            throw FetchError(
                description: "discovery document's issuer \"\(advertised ?? "")\" does not match \"\(issuer)\"")
        }
        guard let jwksURL = document["jwks_uri"]?.stringValue, jwksURL.lowercased().hasPrefix("https://") else {
            throw FetchError(description: "discovery document has no https jwks_uri")
        }
        return Discovery(issuer: issuer, jwksURL: jwksURL)
    }

    func fetchKeySet(_ url: String) async throws -> (JSONWebKeySet, maxAge: TimeInterval?) {
        let (body, headers) = try await get(url)
        let keySet = try JSONWebKeySet(json: body)
        return (keySet, Self.maxAge(headers["cache-control"]))
    }

    /// The JWT behind a distributed claim source, sent with its access token when it has one.
    func fetchClaimJWT(_ url: String, accessToken: String?) async throws -> String {
        guard url.lowercased().hasPrefix("https://") else {
            throw FetchError(description: "claim source endpoint is not https")
        }
        var headers: [(String, String)] = []
        if let accessToken, !accessToken.isEmpty { headers.append(("Authorization", "Bearer \(accessToken)")) }
        let (body, _) = try await get(url, headers: headers)
        return String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func get(_ url: String, headers: [(String, String)] = []) async throws -> ([UInt8], HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response: HTTPClientResponse
        do {
            response = try await client(for: url).execute(request, timeout: timeout)
        } catch let error as HTTPClientError {
            // Its full description can repeat the request's header values, a claim source's
            // access token among them: only the short one goes into the refusal (and the logs).
            throw FetchError(description: error.shortDescription)
        }
        // Redirects are followed, as go-oidc follows them, but never off https: keys (or claims)
        // that came over plain http could be anyone's.
        if url.lowercased().hasPrefix("https://"),
            let hop = response.history.first(where: { !$0.request.url.lowercased().hasPrefix("https://") })
        {
            throw FetchError(description: "GET \(url) was redirected to \(hop.request.url), which is not https")
        }
        guard (200..<300).contains(response.status.code) else {
            throw FetchError(description: "GET \(url) answered \(response.status.code) \(response.status.reasonPhrase)")
        }
        var buffer = try await response.body.collect(upTo: Self.maximumBodySize)
        return (buffer.readBytes(length: buffer.readableBytes) ?? [], response.headers)
    }

    static func maxAge(_ cacheControl: [String]) -> TimeInterval? {
        for directive in cacheControl.joined(separator: ",").split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            if parts.count == 2, parts[0] == "max-age", let seconds = Int(parts[1]), seconds >= 0 {
                return TimeInterval(seconds)
            }
        }
        return nil
    }
}
