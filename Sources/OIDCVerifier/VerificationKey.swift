import Crypto
import CryptoExtras
import Foundation

/// One public key from an issuer's JWKS, ready to check signatures.
public struct VerificationKey: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
    }

    public let keyID: String?
    /// The JWK's `alg`, when the issuer pinned the key to one algorithm.
    public let algorithm: String?
    let material: Material

    init(keyID: String?, algorithm: String?, material: Material) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.material = material
    }

    /// Whether this key may check a token signed with `alg` at all.
    func accepts(_ alg: JOSEAlgorithm) -> Bool {
        if let algorithm, algorithm != alg.rawValue { return false }
        switch (material, alg.keyType) {
        case (.rsa, .rsa), (.p256, .p256), (.p384, .p384), (.p521, .p521): return true
        default: return false
        }
    }

    func isValidSignature(_ signature: [UInt8], for input: ArraySlice<UInt8>, algorithm alg: JOSEAlgorithm) -> Bool {
        switch (material, alg) {
        case (.rsa(let key), .rs256):
            return key.isValidSignature(
                .init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .rs384):
            return key.isValidSignature(
                .init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .rs512):
            return key.isValidSignature(
                .init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .ps256):
            return key.isValidSignature(
                .init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .PSS)
        case (.rsa(let key), .ps384):
            return key.isValidSignature(
                .init(rawRepresentation: signature), for: SHA384.hash(data: input), padding: .PSS)
        case (.rsa(let key), .ps512):
            return key.isValidSignature(
                .init(rawRepresentation: signature), for: SHA512.hash(data: input), padding: .PSS)
        case (.p256(let key), .es256):
            guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA256.hash(data: input))
        case (.p384(let key), .es384):
            guard let sig = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA384.hash(data: input))
        case (.p521(let key), .es512):
            guard let sig = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA512.hash(data: input))
        default:
            return false
        }
    }
}

/// A parsed JWKS document (RFC 7517). Keys this verifier cannot use (symmetric keys,
/// encryption keys, unknown curves, RSA under 2048 bits) are skipped and reported, not fatal:
/// issuers publish such keys alongside their signing keys.
public struct JSONWebKeySet: Sendable {
    public let keys: [VerificationKey]
    public let skipped: [String]

    public init(keys: [VerificationKey], skipped: [String] = []) {
        self.keys = keys
        self.skipped = skipped
    }

    public enum ParseError: Error, CustomStringConvertible {
        case notJSON
        case noKeysArray

        public var description: String {
            switch self {
            case .notJSON: "JWKS is not a JSON object"
            case .noKeysArray: "JWKS has no 'keys' array"
            }
        }
    }

    public init(json bytes: [UInt8]) throws(ParseError) {
        let document: [String: JSONValue]
        do { document = try JSONValue.parseObject(bytes) } catch { throw .notJSON }
        guard case .array(let entries)? = document["keys"] else { throw .noKeysArray }
        var keys: [VerificationKey] = []
        var skipped: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let fields = entry.objectValue else {
                skipped.append("key \(index): not an object")
                continue
            }
            do {
                if let key = try Self.key(from: fields) { keys.append(key) }
            } catch {
                skipped.append("key \(fields["kid"]?.stringValue ?? String(index)): \(error)")
            }
        }
        self.keys = keys
        self.skipped = skipped
    }

    /// The keys that may have signed a token with this `kid` and `alg`. A token without a
    /// `kid` may have been signed by any key of the right type, as go-oidc tries them in turn.
    public func candidates(keyID: String?, algorithm: JOSEAlgorithm) -> [VerificationKey] {
        keys.filter { key in
            key.accepts(algorithm) && (keyID == nil || key.keyID == keyID)
        }
    }

    func contains(keyID: String) -> Bool {
        keys.contains { $0.keyID == keyID }
    }

    private struct KeyError: Error, CustomStringConvertible {
        let description: String
    }

    private static func key(from fields: [String: JSONValue]) throws -> VerificationKey? {
        if let use = fields["use"]?.stringValue, use != "sig" { return nil }
        let kid = fields["kid"]?.stringValue
        let alg = fields["alg"]?.stringValue
        func bytes(_ name: String) throws -> [UInt8] {
            guard let text = fields[name]?.stringValue, let value = Base64URL.decode(Array(text.utf8)), !value.isEmpty
            else { throw KeyError(description: "'\(name)' is missing or not base64url") }
            return value
        }
        switch fields["kty"]?.stringValue {
        case "RSA":
            do {
                return VerificationKey(
                    keyID: kid, algorithm: alg,
                    material: .rsa(try _RSA.Signing.PublicKey(n: try bytes("n"), e: try bytes("e"))))
            } catch let error as KeyError {
                throw error
            } catch {
                throw KeyError(description: "RSA key rejected (modulus under 2048 bits or invalid)")
            }
        case "EC":
            let raw = try bytes("x") + bytes("y")
            switch fields["crv"]?.stringValue {
            case "P-256":
                return VerificationKey(
                    keyID: kid, algorithm: alg, material: .p256(try P256.Signing.PublicKey(rawRepresentation: raw)))
            case "P-384":
                return VerificationKey(
                    keyID: kid, algorithm: alg, material: .p384(try P384.Signing.PublicKey(rawRepresentation: raw)))
            case "P-521":
                return VerificationKey(
                    keyID: kid, algorithm: alg, material: .p521(try P521.Signing.PublicKey(rawRepresentation: raw)))
            case let curve: throw KeyError(description: "unsupported curve \(curve ?? "(none)")")
            }
        case let kty:
            throw KeyError(description: "unsupported key type \(kty ?? "(none)")")
        }
    }
}
