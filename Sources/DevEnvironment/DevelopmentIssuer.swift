import Crypto
import CryptoExtras
import Foundation
import OIDCVerifier

/// The development OIDC issuer: one fresh RSA-2048 key, published as discovery and a JWKS, and
/// ID tokens minted the way the Banyan issuer shapes them (`email`, `email_verified`, `roles`).
/// Pure: serving it is ``LoopbackHTTPSServer``'s job; the issuer URL is the server's.
public struct DevelopmentIssuer: Sendable {
    public static let discoveryPath = "/.well-known/openid-configuration"
    public static let keySetPath = "/keys"

    public let clientID: String
    public let keyID: String
    private let key: _RSA.Signing.PrivateKey

    public init(clientID: String) throws {
        self.clientID = clientID
        key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        // A kid that changes with every session, so a token of a previous session names its key.
        keyID = "dev-" + String(Base64URL.encode(SHA256.hash(data: key.publicKey.derRepresentation)).prefix(12))
    }

    /// Discovery and the JWKS; anything else is 404.
    public func respond(to request: LoopbackRequest) -> LoopbackResponse {
        guard request.method == "GET" else {
            return .json(.object(["error": .string("method not allowed")]), status: 405)
        }
        switch request.path {
        case Self.discoveryPath: return .json(discoveryDocument(issuerURL: request.serverURL))
        case Self.keySetPath: return .json(keySet)
        default: return .json(.object(["error": .string("not found")]), status: 404)
        }
    }

    public func discoveryDocument(issuerURL: String) -> JSONValue {
        .object([
            "issuer": .string(issuerURL),
            "jwks_uri": .string(issuerURL + Self.keySetPath),
            "response_types_supported": .array([.string("id_token")]),
            "subject_types_supported": .array([.string("public")]),
            "id_token_signing_alg_values_supported": .array([.string("RS256")]),
            "claims_supported": .array(["sub", "email", "email_verified", "roles"].map { .string($0) }),
        ])
    }

    public var keySet: JSONValue {
        // The modulus and exponent of a key this type generated are always available.
        let primitives = try? key.publicKey.getKeyPrimitives()
        return .object([
            "keys": .array([
                .object([
                    "kty": .string("RSA"), "use": .string("sig"), "alg": .string("RS256"), "kid": .string(keyID),
                    "n": .string(Base64URL.encode(primitives?.modulus ?? Data())),
                    "e": .string(Base64URL.encode(primitives?.publicExponent ?? Data())),
                ])
            ])
        ])
    }

    /// An ID token for `email` with `roles`, valid from `now` for `lifetime`.
    public func mintToken(
        issuerURL: String, email: String, roles: [String], now: Date, lifetime: Duration
    ) throws -> String {
        let issuedAt = now.timeIntervalSince1970.rounded(.down)
        let claims: JSONValue = .object([
            "iss": .string(issuerURL), "aud": .string(clientID), "sub": .string(email),
            "email": .string(email), "email_verified": .bool(true), "roles": .array(roles.map { .string($0) }),
            "iat": .number(issuedAt), "nbf": .number(issuedAt),
            "exp": .number(issuedAt + Double(lifetime.components.seconds)),
        ])
        let header: JSONValue = .object(["alg": .string("RS256"), "kid": .string(keyID), "typ": .string("JWT")])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let input = Base64URL.encode(try encoder.encode(header)) + "." + Base64URL.encode(try encoder.encode(claims))
        let signature = try key.signature(for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
        return input + "." + Base64URL.encode(signature.rawRepresentation)
    }
}
