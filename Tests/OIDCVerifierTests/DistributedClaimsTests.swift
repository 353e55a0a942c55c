import Foundation
import OIDCVerifier
import TestSupport
import Testing

/// Distributed groups claims (`_claim_names` / `_claim_sources`), as the Kubernetes
/// authenticator resolves them.
@Suite struct DistributedClaimsTests {
    func distributed(
        _ issuer: TestIssuer, source: String = "src1", endpoint: String? = nil, accessToken: String? = "claims-access"
    ) -> [String: JSONValue] {
        var sourceFields: [String: JSONValue] = ["endpoint": .string(endpoint ?? issuer.url + "/claims/\(source)")]
        if let accessToken { sourceFields["access_token"] = .string(accessToken) }
        return issuer.claims(extra: [
            "_claim_names": .object(["groups": .string(source)]),
            "_claim_sources": .object([source: .object(sourceFields)]),
        ])
    }

    @Test func distributedGroupsAreFetchedAndVerified() async throws {
        let issuer = try await TestIssuer.start()
        issuer.setClaimSource(
            "src1", jwt: issuer.mint(issuer.claims(extra: ["groups": .array([.string("team-a"), .string("team-b")])])))
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            let user = try await verifier.verify(issuer.mint(distributed(issuer))).user
            #expect(user.groups == ["team-a", "team-b"])
            #expect(issuer.claimRequests.first?.header("Authorization") == "Bearer claims-access")
        }
        try await issuer.stop()
    }

    /// An access token async-http-client cannot send (a control character in it) fails the
    /// fetch, and its error used to repeat the header whole: the refusal's text, logged at
    /// debug, carried the token.
    @Test func aClaimSourcesAccessTokenNeverReachesTheRefusal() async throws {
        let issuer = try await TestIssuer.start()
        let secret = "claims-secret-7f3a"
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            let refusal = await verifier.refusal(issuer.mint(distributed(issuer, accessToken: secret + "\r\nX: y")))
            guard case .distributedClaim(let detail)? = refusal else {
                Issue.record("expected a distributed-claim refusal, got \(String(describing: refusal))")
                return
            }
            #expect(!detail.contains(secret), "\(detail)")
            #expect(!"\(refusal!)".contains(secret))
        }
        try await issuer.stop()
    }

    @Test func normalClaimWinsOverDistributedClaim() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            var claims = distributed(issuer)
            claims["groups"] = .array([.string("inline")])
            let accepted33 = try await verifier.accepted(issuer.mint(claims))
            #expect(accepted33.user.groups == ["inline"])
            #expect(issuer.claimRequests.isEmpty)
        }
        try await issuer.stop()
    }

    @Test func distributedClaimWithWrongAudienceIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        issuer.setClaimSource(
            "src1", jwt: issuer.mint(issuer.claims(audience: .string("other"), extra: ["groups": .string("g")])))
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            guard case .distributedClaim? = await verifier.refusal(issuer.mint(distributed(issuer))) else {
                Issue.record("wrong-audience claim JWT accepted")
                return
            }
        }
        try await issuer.stop()
    }

    @Test func expiredDistributedClaimTokenIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        let past = (Date().timeIntervalSince1970 - 100).rounded()
        issuer.setClaimSource(
            "src1", jwt: issuer.mint(issuer.claims(extra: ["groups": .string("g"), "exp": .number(past)])))
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            let refusal = await verifier.refusal(issuer.mint(distributed(issuer)))
            guard case .distributedClaim(let detail)? = refusal, detail.contains("expired") else {
                Issue.record("expired claim JWT: \(String(describing: refusal))")
                return
            }
        }
        try await issuer.stop()
    }

    @Test func distributedClaimSignedByAnotherKeyIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        issuer.setClaimSource(
            "src1", jwt: issuer.mint(issuer.claims(extra: ["groups": .string("g")]), key: .rsa(issuer.signingKey.keyID))
        )
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            guard case .distributedClaim? = await verifier.refusal(issuer.mint(distributed(issuer))) else {
                Issue.record("forged claim JWT accepted")
                return
            }
        }
        try await issuer.stop()
    }

    @Test func distributedClaimJWTWithoutTheClaimIsRefused() async throws {
        let issuer = try await TestIssuer.start()
        issuer.setClaimSource("src1", jwt: issuer.mint(issuer.claims()))
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            guard case .distributedClaim? = await verifier.refusal(issuer.mint(distributed(issuer))) else {
                Issue.record("claim JWT without the claim accepted")
                return
            }
        }
        try await issuer.stop()
    }

    @Test func malformedDistributedClaimsAreRefused() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            let variants: [[String: JSONValue]] = [
                // _claim_names not an object
                issuer.claims(extra: ["_claim_names": .string("groups")]),
                // names a source but no _claim_sources
                issuer.claims(extra: ["_claim_names": .object(["groups": .string("src1")])]),
                // _claim_sources not an object
                issuer.claims(extra: [
                    "_claim_names": .object(["groups": .string("src1")]), "_claim_sources": .array([]),
                ]),
                // source missing from _claim_sources
                issuer.claims(extra: [
                    "_claim_names": .object(["groups": .string("src1")]),
                    "_claim_sources": .object(["other": .object(["endpoint": .string(issuer.url + "/claims/x")])]),
                ]),
                // endpoint answers 404
                distributed(issuer, source: "missing"),
                // plain http endpoint
                distributed(issuer, endpoint: "http://127.0.0.1:1/claims"),
                // endpoint serves garbage
                distributed(issuer, source: "garbage"),
            ]
            issuer.setClaimSource("garbage", jwt: "not-a-jwt")
            for claims in variants {
                guard case .distributedClaim? = await verifier.refusal(issuer.mint(claims)) else {
                    Issue.record("malformed distributed claim accepted: \(claims["_claim_names"] ?? .null)")
                    continue
                }
            }
        }
        try await issuer.stop()
    }

    @Test func distributedClaimForAnotherClaimIsIgnored() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            let claims = issuer.claims(extra: [
                "_claim_names": .object(["roles": .string("src1")]),
                "_claim_sources": .object(["src1": .object(["endpoint": .string(issuer.url + "/claims/src1")])]),
            ])
            let accepted129 = try await verifier.accepted(issuer.mint(claims))
            #expect(accepted129.user.groups == [])
        }
        try await issuer.stop()
    }

    @Test func aggregatedClaimWithoutEndpointIsNotResolved() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer, groupsClaim: "groups") { verifier in
            let claims = issuer.claims(extra: [
                "_claim_names": .object(["groups": .string("src1")]),
                "_claim_sources": .object(["src1": .object(["JWT": .string("e30.e30.e30")])]),
            ])
            let accepted141 = try await verifier.accepted(issuer.mint(claims))
            #expect(accepted141.user.groups == [])
        }
        try await issuer.stop()
    }
}
