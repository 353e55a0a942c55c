import Crypto
import CryptoExtras
import Foundation
import JWTKit
import OIDCVerifier
import TestSupport

// Prints µs per operation for the verification hot path, next to BoringSSL's raw RSA-2048
// verify and jwt-kit's full verify, against a real HTTPS issuer on loopback.
// Run: swift run -c release VerifierBenchmark

struct BenchPayload: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try aud.verifyIntendedAudience(includes: "kube")
    }
}

func measure(_ name: String, iterations: Int, _ body: (Int) async throws -> Void) async rethrows {
    for index in 0..<min(iterations, 200) { try await body(index) }
    let clock = ContinuousClock()
    let elapsed = try await clock.measure {
        for index in 0..<iterations { try await body(index) }
    }
    let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
    let padded = name.padding(toLength: 48, withPad: " ", startingAt: 0)
    print(padded + String(format: "%10.3f µs/op  (%d ops)", micros / Double(iterations), iterations))
}

// Top-level code runs on the main actor; the benchmark runs off it so that no measured
// call pays for an executor hop.
enum VerifierBenchmark {
    static func run() async throws {
        let issuer = try await TestIssuer.start()
        let key = issuer.signingKey
        guard case .rsa(let privateKey) = key.material else { fatalError("RSA key expected") }
        let configuration = try OIDCConfiguration(
            issuerURL: issuer.url, clientID: "kube", usernameClaim: "email", usernamePrefix: "banyan:",
            groupsClaim: "roles", groupsPrefix: "banyan:", caFile: issuer.caFile, cacheCapacity: 100_000)
        let verifier = try OIDCVerifier(configuration: configuration)
        guard await verifier.loadKeys() else { fatalError("keys did not load") }

        let coldCount = 3000
        print("minting \(coldCount) RS256 tokens…")
        let tokens = (0..<coldCount).map { index in
            issuer.mint(
                issuer.claims(extra: [
                    "email": .string("user\(index)@example.com"), "email_verified": .bool(true),
                    "roles": .array([.string("admin"), .string("dev")]),
                ]))
        }
        print("token size: \(tokens[0].utf8.count) bytes\n")

        // BoringSSL's raw RSA-2048 PKCS#1 v1.5 verify over the same signing input.
        let parts = tokens[0].split(separator: ".")
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: Base64URL.decode(Array(parts[2].utf8))!)
        await measure("BoringSSL RSA-2048 verify (isValidSignature)", iterations: 5000) { _ in
            precondition(
                privateKey.publicKey.isValidSignature(
                    signature, for: SHA256.hash(data: signingInput), padding: .insecurePKCS1v1_5))
        }
        await measure("SHA-256 of the token (cache key)", iterations: 200_000) { index in
            _ = SHA256.hash(data: Data(tokens[index % coldCount].utf8))
        }
        let payloadBytes = Base64URL.decode(Array(parts[1].utf8))!
        try await measure("claims JSON parse (JSONValue)", iterations: 20_000) { _ in
            _ = try JSONValue.parseObject(payloadBytes)
        }
        let keySet = JSONWebKeySet(keys: try JSONWebKeySet(json: Array(#"{"keys":[\#(jwkJSON(key))]}"#.utf8)).keys)
        await measure("JWKS lookup by kid (1 key)", iterations: 1_000_000) { _ in
            precondition(keySet.candidates(keyID: key.keyID, algorithm: .rs256).count == 1)
        }

        try await measure("OIDCVerifier cold verify (RS256, cache miss)", iterations: coldCount) { index in
            _ = try await verifier.verify(tokens[index])
        }
        try await measure("OIDCVerifier cached verify", iterations: 1_000_000) { index in
            _ = try await verifier.verify(tokens[index % coldCount])
        }

        // jwt-kit's full verify (parse, RSA, claims decode), the yardstick.
        let collection = try await JWTKeyCollection().add(jwksJSON: #"{"keys":[\#(jwkJSON(key, alg: "RS256"))]}"#)
        try await measure("jwt-kit JWTKeyCollection.verify (RS256)", iterations: coldCount) { index in
            _ = try await collection.verify(tokens[index], as: BenchPayload.self)
        }

        await verifier.shutdown()
        try await issuer.stop()
    }
}

try await VerifierBenchmark.run()

func jwkJSON(_ key: SigningKey, alg: String? = nil) -> String {
    var fields = key.jwk
    if let alg { fields["alg"] = .string(alg) }
    let encoder = JSONEncoder()
    return String(decoding: try! encoder.encode(fields), as: UTF8.self)
}
