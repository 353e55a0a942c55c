import Foundation
import OIDCVerifier
import TestSupport
import Testing

/// The Kubernetes OIDC authenticator's case table, end to end against a real HTTPS issuer
/// with tokens signed for real.
@Suite struct VerifierTests {
    @Test func validTokenIsAccepted() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(
            issuer, usernameClaim: "email", usernamePrefix: "banyan:", groupsClaim: "roles", groupsPrefix: "banyan:"
        ) { verifier in
            let token = issuer.mint(
                issuer.claims(extra: [
                    "email": .string("alice@example.com"), "email_verified": .bool(true),
                    "roles": .array([.string("admin"), .string("dev")]),
                ]))
            let verified = try await verifier.verify(token)
            #expect(
                verified.user == UserInfo(username: "banyan:alice@example.com", groups: ["banyan:admin", "banyan:dev"]))
            #expect(verifier.isReady)
        }
        try await issuer.stop()
    }

    @Test func missingUsernameClaimIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, usernameClaim: "email") { verifier in
            #expect(await verifier.refusal(issuer.mint(issuer.claims())) == .missingUsernameClaim("email"))
        }
        try await issuer.stop()
    }

    @Test func emailVerifiedFalseIsRejected() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, usernameClaim: "email") { verifier in
            let token = issuer.mint(issuer.claims(extra: ["email": .string("a@b.c"), "email_verified": .bool(false)]))
            #expect(await verifier.refusal(token) == .emailNotVerified)
        }
        try await issuer.stop()
    }

    @Test func invalidSignatureIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            // Same kid, different key: the signature cannot verify.
            let impostor = SigningKey.rsa(issuer.signingKey.keyID)
            #expect(await verifier.refusal(issuer.mint(issuer.claims(), key: impostor)) == .invalidSignature)
            // A valid token with one flipped signature byte.
            var token = Array(issuer.mint(issuer.claims()).utf8)
            token[token.count - 5] = token[token.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(await verifier.refusal(String(decoding: token, as: UTF8.self)) == .invalidSignature)
            // A valid signature over different claims.
            let parts = issuer.mint(issuer.claims()).split(separator: ".")
            let other = issuer.mint(issuer.claims(subject: "mallory")).split(separator: ".")
            #expect(await verifier.refusal("\(parts[0]).\(other[1]).\(parts[2])") == .invalidSignature)
        }
        try await issuer.stop()
    }

    @Test func expiredTokenIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let past = Date().timeIntervalSince1970 - 10
            let refusal = await verifier.refusal(issuer.mint(issuer.claims(extra: ["exp": .number(past.rounded())])))
            guard case .expired? = refusal else {
                Issue.record("expected expired, got \(String(describing: refusal))")
                return
            }
        }
        try await issuer.stop()
    }

    @Test func wrongAudienceIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let token = issuer.mint(issuer.claims(audience: .string("someone-else")))
            #expect(await verifier.refusal(token) == .audienceMismatch(expected: "kube", actual: ["someone-else"]))
        }
        try await issuer.stop()
    }

    @Test func multipleAudiencesIncludingClientIDAreAccepted() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let token = issuer.mint(issuer.claims(audience: .array([.string("other"), .string("kube")])))
            let accepted83 = try await verifier.accepted(token)
            #expect(accepted83.user.username == "alice-id")
        }
        try await issuer.stop()
    }

    @Test func wrongIssuerIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let token = issuer.mint(issuer.claims(extra: ["iss": .string(issuer.url + "/")]))
            #expect(await verifier.refusal(token) == .issuerMismatch(expected: issuer.url, actual: issuer.url + "/"))
        }
        try await issuer.stop()
    }

    @Test func unsetUsernamePrefixUsesIssuerHash() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, usernamePrefix: nil) { verifier in
            let accepted100 = try await verifier.accepted(issuer.mint(issuer.claims()))
            #expect(accepted100.user.username == "\(issuer.url)#alice-id")
        }
        try await issuer.stop()
    }

    @Test func requiredClaimsAreEnforced() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, requiredClaims: ["hd": "example.com"]) { verifier in
            let accepted108 = try await verifier.accepted(
                issuer.mint(issuer.claims(extra: ["hd": .string("example.com")])))
            #expect(accepted108.user.username == "alice-id")
            #expect(await verifier.refusal(issuer.mint(issuer.claims())) == .requiredClaimMissing("hd"))
            #expect(
                await verifier.refusal(issuer.mint(issuer.claims(extra: ["hd": .string("x.com")])))
                    == .requiredClaimMismatch(claim: "hd", expected: "example.com", actual: "x.com"))
        }
        try await issuer.stop()
    }

    // MARK: algorithms

    @Test func ps256IsAcceptedWhenAllowedAndRefusedOtherwise() async throws {
        let issuer = try await TestIssuer.start()
        let token = issuer.mint(issuer.claims(), alg: "PS256")
        try await withVerifier(issuer, algorithms: ["RS256", "PS256"]) { verifier in
            let accepted123 = try await verifier.accepted(token)
            #expect(accepted123.user.username == "alice-id")
        }
        try await withVerifier(issuer, algorithms: ["RS256"]) { verifier in
            #expect(await verifier.refusal(token) == .unsupportedAlgorithm("PS256", allowed: ["RS256"]))
        }
        try await issuer.stop()
    }

    @Test func es512IsAcceptedWhenAllowedAndRefusedOtherwise() async throws {
        let issuer = try await TestIssuer.start(keys: [.p521("ec-1"), .rsa("rsa-1")])
        let token = issuer.mint(issuer.claims())
        try await withVerifier(issuer, algorithms: ["ES512"]) { verifier in
            let accepted135 = try await verifier.accepted(token)
            #expect(accepted135.user.username == "alice-id")
        }
        try await withVerifier(issuer, algorithms: ["RS256", "ES256"]) { verifier in
            #expect(await verifier.refusal(token) == .unsupportedAlgorithm("ES512", allowed: ["ES256", "RS256"]))
        }
        try await issuer.stop()
    }

    @Test func everySupportedAlgorithmVerifies() async throws {
        let keys: [SigningKey] = [.rsa("rsa"), .p256("p256"), .p384("p384"), .p521("p521")]
        let issuer = try await TestIssuer.start(keys: keys)
        try await withVerifier(issuer, algorithms: JOSEAlgorithm.allCases.map(\.rawValue)) { verifier in
            for alg in JOSEAlgorithm.allCases {
                let key: SigningKey =
                    switch alg {
                    case .es256: keys[1]
                    case .es384: keys[2]
                    case .es512: keys[3]
                    default: keys[0]
                    }
                let accepted155 = try await verifier.accepted(
                    issuer.mint(issuer.claims(subject: alg.rawValue), key: key, alg: alg.rawValue))
                #expect(accepted155.user.username == alg.rawValue)
            }
        }
        try await issuer.stop()
    }

    @Test func noneAlgorithmIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, algorithms: JOSEAlgorithm.allCases.map(\.rawValue)) { verifier in
            let token =
                TokenMinter.encodeSegment(["alg": .string("none")]) + "." + TokenMinter.encodeSegment(issuer.claims())
                + "."
            #expect(await verifier.refusal(token) == .malformed("signature is missing or not base64url"))
            let withJunk = TokenMinter.assemble(
                header: ["alg": .string("none")], claims: issuer.claims(), signature: [0])
            guard case .unsupportedAlgorithm("none", _)? = await verifier.refusal(withJunk) else {
                Issue.record("alg none was not refused as unsupported")
                return
            }
        }
        try await issuer.stop()
    }

    @Test func hs256SignedWithThePublicKeyIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, algorithms: JOSEAlgorithm.allCases.map(\.rawValue)) { verifier in
            let header: [String: JSONValue] = ["alg": .string("HS256"), "kid": .string(issuer.signingKey.keyID)]
            let input = TokenMinter.encodeSegment(header) + "." + TokenMinter.encodeSegment(issuer.claims())
            let forged =
                input + "."
                + Base64URL.encode(TokenMinter.hmacSHA256(input, secret: Array(issuer.signingKey.publicKeyPEM.utf8)))
            guard case .unsupportedAlgorithm("HS256", _)? = await verifier.refusal(forged) else {
                Issue.record("HS256 was not refused")
                return
            }
        }
        try await issuer.stop()
    }

    @Test func algorithmThatDoesNotFitTheKeyTypeIsRefused() async throws {
        let issuer = try await TestIssuer.start(keys: [.p256("ec")])
        try await withVerifier(issuer, algorithms: ["RS256", "ES256"]) { verifier in
            // An RS256 header naming an EC key: no key may check it.
            let token = TokenMinter.assemble(
                header: ["alg": .string("RS256"), "kid": .string("ec")], claims: issuer.claims(), signature: [1, 2, 3])
            #expect(await verifier.refusal(token) == .invalidSignature)
        }
        try await issuer.stop()
    }

    @Test func tokenWithoutKidIsCheckedAgainstEveryKey() async throws {
        let second = SigningKey.rsa("second")
        let issuer = try await TestIssuer.start(keys: [.rsa("first"), second])
        try await withVerifier(issuer) { verifier in
            let token = TokenMinter.mint(issuer.claims(), key: second, header: ["kid": .null])
            let accepted205 = try await verifier.accepted(token)
            #expect(accepted205.user.username == "alice-id")
            // An empty `kid` names no key either, as go-oidc reads it.
            let empty = TokenMinter.mint(issuer.claims(), key: second, header: ["kid": .string("")])
            #expect(try await verifier.accepted(empty).user.username == "alice-id")
        }
        try await issuer.stop()
    }

    // MARK: malformed input end to end

    @Test func malformedTokensAreRefusedNeverCrash() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let valid = issuer.mint(issuer.claims())
            let parts = valid.split(separator: ".").map(String.init)
            let cases = [
                "", "abc", "a.b", "\(valid).extra", "\(parts[0]).\(parts[1]).***",
                Base64URL.encode(Array("{not json".utf8)) + ".\(parts[1]).\(parts[2])",
                "\(parts[0])." + Base64URL.encode(Array("[]".utf8)) + ".\(parts[2])",
                "\(parts[0])." + Base64URL.encode(Array("garbage".utf8)) + ".\(parts[2])",
                String(repeating: "x", count: 1 << 20),
                String(repeating: ".", count: 1 << 20),
            ]
            for token in cases {
                let refusal = await verifier.refusal(token)
                #expect(refusal != nil, "token of \(token.utf8.count) bytes was accepted")
            }
        }
        try await issuer.stop()
    }
}
