import Crypto
import CryptoExtras
import Foundation
import OIDCVerifier

/// A private key of the test issuer, able to sign tokens and publish itself as a JWK.
public struct SigningKey: Sendable {
    public enum Material: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
    }

    public let keyID: String
    public let material: Material

    public init(keyID: String, material: Material) {
        self.keyID = keyID
        self.material = material
    }

    public static func rsa(_ keyID: String = UUID().uuidString) -> SigningKey {
        SigningKey(keyID: keyID, material: .rsa(try! _RSA.Signing.PrivateKey(keySize: .bits2048)))
    }

    public static func p256(_ keyID: String = UUID().uuidString) -> SigningKey {
        SigningKey(keyID: keyID, material: .p256(P256.Signing.PrivateKey()))
    }

    public static func p384(_ keyID: String = UUID().uuidString) -> SigningKey {
        SigningKey(keyID: keyID, material: .p384(P384.Signing.PrivateKey()))
    }

    public static func p521(_ keyID: String = UUID().uuidString) -> SigningKey {
        SigningKey(keyID: keyID, material: .p521(P521.Signing.PrivateKey()))
    }

    /// The public half as a JWK object.
    public var jwk: [String: JSONValue] {
        var fields: [String: JSONValue] = ["kid": .string(keyID), "use": .string("sig")]
        switch material {
        case .rsa(let key):
            let primitives = try! key.publicKey.getKeyPrimitives()
            fields["kty"] = .string("RSA")
            fields["n"] = .string(Base64URL.encode(primitives.modulus))
            fields["e"] = .string(Base64URL.encode(primitives.publicExponent))
        case .p256(let key): Self.ec(&fields, "P-256", key.publicKey.rawRepresentation)
        case .p384(let key): Self.ec(&fields, "P-384", key.publicKey.rawRepresentation)
        case .p521(let key): Self.ec(&fields, "P-521", key.publicKey.rawRepresentation)
        }
        return fields
    }

    private static func ec(_ fields: inout [String: JSONValue], _ curve: String, _ raw: Data) {
        fields["kty"] = .string("EC")
        fields["crv"] = .string(curve)
        fields["x"] = .string(Base64URL.encode(raw.prefix(raw.count / 2)))
        fields["y"] = .string(Base64URL.encode(raw.suffix(raw.count / 2)))
    }

    /// The public key in PEM, as an attacker would find it (for the HMAC-confusion test).
    public var publicKeyPEM: String {
        switch material {
        case .rsa(let key): key.publicKey.pemRepresentation
        case .p256(let key): key.publicKey.pemRepresentation
        case .p384(let key): key.publicKey.pemRepresentation
        case .p521(let key): key.publicKey.pemRepresentation
        }
    }

    /// Signs `input` with the JWS algorithm `alg` (which must fit the key type).
    public func sign(_ input: Data, alg: String) -> [UInt8] {
        switch (material, alg) {
        case (.rsa(let key), "RS256"):
            Array(try! key.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), "RS384"):
            Array(try! key.signature(for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), "RS512"):
            Array(try! key.signature(for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), "PS256"):
            Array(try! key.signature(for: SHA256.hash(data: input), padding: .PSS).rawRepresentation)
        case (.rsa(let key), "PS384"):
            Array(try! key.signature(for: SHA384.hash(data: input), padding: .PSS).rawRepresentation)
        case (.rsa(let key), "PS512"):
            Array(try! key.signature(for: SHA512.hash(data: input), padding: .PSS).rawRepresentation)
        case (.p256(let key), "ES256"): Array(try! key.signature(for: input).rawRepresentation)
        case (.p384(let key), "ES384"): Array(try! key.signature(for: input).rawRepresentation)
        case (.p521(let key), "ES512"): Array(try! key.signature(for: input).rawRepresentation)
        default: preconditionFailure("key \(keyID) cannot sign \(alg)")
        }
    }

    /// The algorithm this key signs with unless told otherwise.
    public var defaultAlgorithm: String {
        switch material {
        case .rsa: "RS256"
        case .p256: "ES256"
        case .p384: "ES384"
        case .p521: "ES512"
        }
    }
}

/// Builds compact JWS tokens the way an issuer does, and the malformed ones an attacker sends.
public enum TokenMinter {
    public static func encodeSegment(_ object: [String: JSONValue]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Base64URL.encode(try! encoder.encode(object))
    }

    /// A token signed by `key`. `header` entries override the defaults (`alg`, `kid`, `typ`);
    /// set `"kid": .null` to send no `kid`.
    public static func mint(
        _ claims: [String: JSONValue], key: SigningKey, alg: String? = nil, header: [String: JSONValue] = [:]
    ) -> String {
        let alg = alg ?? key.defaultAlgorithm
        var fields: [String: JSONValue] = ["alg": .string(alg), "kid": .string(key.keyID), "typ": .string("JWT")]
        for (name, value) in header { fields[name] = value }
        fields = fields.filter { $0.value != .null }
        let input = encodeSegment(fields) + "." + encodeSegment(claims)
        return input + "." + Base64URL.encode(key.sign(Data(input.utf8), alg: alg))
    }

    /// A token with an arbitrary header and signature bytes (for `none`, HMAC confusion, garbage).
    public static func assemble(header: [String: JSONValue], claims: [String: JSONValue], signature: [UInt8]) -> String
    {
        encodeSegment(header) + "." + encodeSegment(claims) + "." + Base64URL.encode(signature)
    }

    /// HS256 over the token with `secret` as the key, the classic algorithm-confusion forgery.
    public static func hmacSHA256(_ input: String, secret: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret)))
    }
}
