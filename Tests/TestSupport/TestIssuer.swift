import Foundation
import OIDCVerifier
import Synchronization

/// A real HTTPS OIDC issuer on 127.0.0.1: discovery, a JWKS it can rotate, distributed-claim
/// endpoints, fetch counters, and an outage switch.
public final class TestIssuer: Sendable {
    private struct State {
        var keys: [SigningKey]
        var available = true
        var advertisedIssuer: String?
        var cacheControl: String?
        var keysRedirect: String?
        var jwksFetches = 0
        var discoveryFetches = 0
        var claimSources: [String: String] = [:]
        var claimRequests: [RecordedRequest] = []
    }

    public let ca: TestCA
    private let state: Mutex<State>
    private let server: Mutex<TestHTTPServer?> = Mutex(nil)
    public let caFile: String

    /// Starts an issuer signing with `keys` (one fresh RSA key by default).
    public static func start(keys: [SigningKey] = [.rsa("key-1")]) async throws -> TestIssuer {
        let issuer = try TestIssuer(keys: keys)
        do {
            let tls = try issuer.ca.issueServingCertificate()
            let server = try await TestHTTPServer.start(tls: tls) { [issuer] request in issuer.respond(to: request) }
            issuer.server.withLock { $0 = server }
        } catch {
            try? await issuer.stop()
            throw error
        }
        return issuer
    }

    private init(keys: [SigningKey]) throws {
        self.ca = try TestCA()
        self.state = Mutex(State(keys: keys))
        self.caFile = try ca.writeCertificate(to: FileManager.default.temporaryDirectory)
    }

    public var url: String { server.withLock { $0!.baseURL } }
    public var port: Int { server.withLock { $0!.port } }

    public var keys: [SigningKey] { state.withLock { $0.keys } }
    public var signingKey: SigningKey { keys[0] }
    public var jwksFetches: Int { state.withLock { $0.jwksFetches } }
    public var discoveryFetches: Int { state.withLock { $0.discoveryFetches } }
    public var claimRequests: [RecordedRequest] { state.withLock { $0.claimRequests } }

    /// Replaces the published keys, as an issuer does when it rotates.
    public func rotate(to keys: [SigningKey]) { state.withLock { $0.keys = keys } }
    /// While unavailable, every endpoint answers 503.
    public func setAvailable(_ available: Bool) { state.withLock { $0.available = available } }
    /// Makes discovery advertise another issuer string (the byte-for-byte check).
    public func advertiseIssuer(_ issuer: String?) { state.withLock { $0.advertisedIssuer = issuer } }
    public func setCacheControl(_ value: String?) { state.withLock { $0.cacheControl = value } }
    /// The keys' URL answers a redirect to `url` (nil: serves the keys); `/keys-moved` serves them too.
    public func redirectKeys(to url: String?) { state.withLock { $0.keysRedirect = url } }
    /// Serves `jwt` at `<url>/claims/<name>`.
    public func setClaimSource(_ name: String, jwt: String) { state.withLock { $0.claimSources[name] = jwt } }

    /// Stops serving and removes the CA file it wrote.
    public func stop() async throws {
        try? FileManager.default.removeItem(atPath: caFile)
        try await server.withLock { $0 }?.stop()
    }

    /// Standard claims for a token of this issuer, valid for an hour.
    public func claims(
        audience: JSONValue = .string("kube"), subject: String = "alice-id", extra: [String: JSONValue] = [:]
    ) -> [String: JSONValue] {
        let now = Date().timeIntervalSince1970.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(url), "aud": audience, "sub": .string(subject),
            "iat": .number(now), "exp": .number(now + 3600),
        ]
        for (name, value) in extra { claims[name] = value }
        return claims
    }

    public func mint(_ claims: [String: JSONValue], key: SigningKey? = nil, alg: String? = nil) -> String {
        TokenMinter.mint(claims, key: key ?? signingKey, alg: alg)
    }

    private func respond(to request: RecordedRequest) -> CannedResponse {
        state.withLock { state in
            if !state.available { return .json(#"{"error":"unavailable"}"#, status: 503) }
            switch request.path {
            case "/.well-known/openid-configuration":
                state.discoveryFetches += 1
                let issuer = state.advertisedIssuer ?? self.url
                let document: [String: JSONValue] = [
                    "issuer": .string(issuer), "jwks_uri": .string(self.url + "/keys"),
                    "id_token_signing_alg_values_supported": .array([.string("RS256")]),
                ]
                return .json(Self.json(document))
            case "/keys", "/keys-moved":
                if request.path == "/keys", let target = state.keysRedirect {
                    return CannedResponse(status: 302, headers: [("Location", target)], body: [])
                }
                state.jwksFetches += 1
                let jwks: [String: JSONValue] = ["keys": .array(state.keys.map { .object($0.jwk) })]
                return .json(Self.json(jwks), headers: state.cacheControl.map { [("Cache-Control", $0)] } ?? [])
            case let path where path.hasPrefix("/claims/"):
                state.claimRequests.append(request)
                guard let jwt = state.claimSources[String(path.dropFirst("/claims/".count))] else {
                    return .json("{}", status: 404)
                }
                return CannedResponse(headers: [("Content-Type", "application/jwt")], body: Array(jwt.utf8))
            default:
                return .json("{}", status: 404)
            }
        }
    }

    private static func json(_ value: [String: JSONValue]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }
}
