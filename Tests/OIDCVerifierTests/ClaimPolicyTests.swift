import Foundation
import Testing

@testable import OIDCVerifier

/// The claim half of the Kubernetes OIDC authenticator's case table, on the pure policy.
@Suite struct ClaimPolicyTests {
    let issuer = "https://issuer.example"
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func claims(_ extra: [String: JSONValue]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string("kube"), "sub": .string("alice-id"),
            "exp": .number(1_700_000_600),
        ]
        for (key, value) in extra { claims[key] = value }
        return claims
    }

    func policy(
        usernameClaim: String = "sub", usernamePrefix: String? = nil, groupsClaim: String? = nil,
        groupsPrefix: String = "", required: [String: String] = [:]
    ) -> ClaimPolicy {
        ClaimPolicy(
            issuer: issuer, clientID: "kube", usernameClaim: usernameClaim, usernamePrefix: usernamePrefix,
            groupsClaim: groupsClaim, groupsPrefix: groupsPrefix, requiredClaims: required)
    }

    // MARK: username

    @Test func unsetPrefixPrefixesNonEmailClaimsWithIssuer() throws {
        let user = try policy().user(from: claims([:]))
        #expect(user.username == "https://issuer.example#alice-id")
    }

    @Test func unsetPrefixLeavesEmailUnprefixed() throws {
        let user = try policy(usernameClaim: "email").user(from: claims(["email": .string("alice@example.com")]))
        #expect(user.username == "alice@example.com")
    }

    @Test func dashPrefixDisablesPrefixing() throws {
        #expect(try policy(usernamePrefix: "-").user(from: claims([:])).username == "alice-id")
    }

    @Test func explicitUsernamePrefixIsPrepended() throws {
        let user = try policy(usernameClaim: "email", usernamePrefix: "banyan:")
            .user(from: claims(["email": .string("alice@example.com")]))
        #expect(user.username == "banyan:alice@example.com")
    }

    @Test func missingUsernameClaimIsRefused() {
        #expect(throws: TokenRefusal.missingUsernameClaim("email")) {
            try policy(usernameClaim: "email").user(from: claims([:]))
        }
    }

    @Test func nonStringUsernameClaimIsRefused() {
        #expect(throws: TokenRefusal.usernameClaimNotString("sub")) {
            try policy().user(from: claims(["sub": .number(42)]))
        }
    }

    @Test func emptyUsernameClaimYieldsEmptyNameForTheProxyToRefuse() throws {
        let user = try policy(usernamePrefix: "-").user(from: claims(["sub": .string("")]))
        #expect(user.username == "")
    }

    // MARK: email_verified

    @Test func emailVerifiedTrueIsAccepted() throws {
        let user = try policy(usernameClaim: "email").user(
            from: claims(["email": .string("a@b.c"), "email_verified": .bool(true)]))
        #expect(user.username == "a@b.c")
    }

    @Test func emailVerifiedFalseIsRejected() {
        #expect(throws: TokenRefusal.emailNotVerified) {
            try policy(usernameClaim: "email").user(
                from: claims(["email": .string("a@b.c"), "email_verified": .bool(false)]))
        }
    }

    @Test func emailVerifiedAbsentIsAccepted() throws {
        #expect(try policy(usernameClaim: "email").user(from: claims(["email": .string("a@b.c")])).username == "a@b.c")
    }

    @Test func emailVerifiedAsStringIsRejected() {
        #expect(throws: TokenRefusal.emailVerifiedNotBoolean) {
            try policy(usernameClaim: "email").user(
                from: claims(["email": .string("a@b.c"), "email_verified": .string("true")]))
        }
    }

    @Test func emailVerifiedIsIgnoredWhenUsernameIsNotEmail() throws {
        let user = try policy(usernamePrefix: "-").user(from: claims(["email_verified": .bool(false)]))
        #expect(user.username == "alice-id")
    }

    // MARK: groups

    @Test func groupsAsArray() throws {
        let user = try policy(groupsClaim: "roles").user(from: claims(["roles": .array([.string("a"), .string("b")])]))
        #expect(user.groups == ["a", "b"])
    }

    @Test func groupsAsSingleString() throws {
        #expect(try policy(groupsClaim: "roles").user(from: claims(["roles": .string("admin")])).groups == ["admin"])
    }

    @Test func groupsAbsentMeansNoGroups() throws {
        #expect(try policy(groupsClaim: "roles").user(from: claims([:])).groups == [])
    }

    @Test func groupsOfWrongTypeAreRejected() {
        for bad: JSONValue in [.number(1), .bool(true), .object([:]), .array([.string("a"), .number(2)])] {
            #expect(throws: TokenRefusal.groupsClaimInvalid("roles")) {
                try policy(groupsClaim: "roles").user(from: claims(["roles": bad]))
            }
        }
    }

    @Test func groupsPrefixIsAppliedToEveryGroup() throws {
        let user = try policy(groupsClaim: "roles", groupsPrefix: "banyan:")
            .user(from: claims(["roles": .array([.string("admin"), .string("dev")])]))
        #expect(user.groups == ["banyan:admin", "banyan:dev"])
    }

    @Test func groupsClaimUnsetIgnoresGroups() throws {
        #expect(try policy().user(from: claims(["groups": .array([.string("a")])])).groups == [])
    }

    // MARK: required claims

    @Test func requiredClaimPresentWithValueIsAccepted() throws {
        _ = try policy(required: ["hd": "example.com"]).user(from: claims(["hd": .string("example.com")]))
    }

    @Test func requiredClaimMissingIsRejected() {
        #expect(throws: TokenRefusal.requiredClaimMissing("hd")) {
            try policy(required: ["hd": "example.com"]).user(from: claims([:]))
        }
    }

    @Test func requiredClaimWithDifferentValueIsRejected() {
        #expect(throws: TokenRefusal.requiredClaimMismatch(claim: "hd", expected: "example.com", actual: "evil.com")) {
            try policy(required: ["hd": "example.com"]).user(from: claims(["hd": .string("evil.com")]))
        }
    }

    @Test func requiredClaimThatIsNotAStringIsRejected() {
        #expect(throws: TokenRefusal.requiredClaimNotString("hd")) {
            try policy(required: ["hd": "1"]).user(from: claims(["hd": .number(1)]))
        }
    }

    // MARK: registered claims

    @Test func validRegisteredClaimsReturnExpiry() throws {
        #expect(try policy().checkRegisteredClaims(claims([:]), now: now) == Date(timeIntervalSince1970: 1_700_000_600))
    }

    @Test func wrongIssuerIsRejected() {
        #expect(throws: TokenRefusal.issuerMismatch(expected: issuer, actual: "https://issuer.example/")) {
            try policy().checkRegisteredClaims(claims(["iss": .string("https://issuer.example/")]), now: now)
        }
    }

    @Test func wrongAudienceIsRejected() {
        #expect(throws: TokenRefusal.audienceMismatch(expected: "kube", actual: ["other"])) {
            try policy().checkRegisteredClaims(claims(["aud": .string("other")]), now: now)
        }
    }

    @Test func multipleAudiencesContainingClientIDAreAccepted() throws {
        _ = try policy().checkRegisteredClaims(claims(["aud": .array([.string("other"), .string("kube")])]), now: now)
    }

    @Test func multipleAudiencesWithoutClientIDAreRejected() {
        #expect(throws: TokenRefusal.audienceMismatch(expected: "kube", actual: ["a", "b"])) {
            try policy().checkRegisteredClaims(claims(["aud": .array([.string("a"), .string("b")])]), now: now)
        }
    }

    @Test func missingExpiryIsRejected() {
        var noExpiry = claims([:])
        noExpiry["exp"] = nil
        #expect(throws: TokenRefusal.missingExpiry) { try policy().checkRegisteredClaims(noExpiry, now: now) }
    }

    @Test func expiredTokenIsRejectedWithoutLeeway() {
        let expiry = Date(timeIntervalSince1970: 1_700_000_600)
        let later = expiry.addingTimeInterval(1)
        #expect(throws: TokenRefusal.expired(at: expiry, now: later)) {
            try policy().checkRegisteredClaims(claims([:]), now: later)
        }
        // The exact second of expiry is still valid, as go-oidc compares with After.
        #expect(throws: Never.self) { try policy().checkRegisteredClaims(claims([:]), now: expiry) }
    }

    @Test func notBeforeWithinOneMinuteOfSkewIsAccepted() throws {
        _ = try policy().checkRegisteredClaims(claims(["nbf": .number(1_700_000_059)]), now: now)
    }

    @Test func notBeforeMoreThanOneMinuteAheadIsRejected() {
        #expect(throws: TokenRefusal.notYetValid(notBefore: Date(timeIntervalSince1970: 1_700_000_061), now: now)) {
            try policy().checkRegisteredClaims(claims(["nbf": .number(1_700_000_061)]), now: now)
        }
    }

    @Test func nonNumericExpiryIsMalformed() {
        #expect(throws: TokenRefusal.malformed("'exp' is not a number")) {
            try policy().checkRegisteredClaims(claims(["exp": .string("tomorrow")]), now: now)
        }
    }
}
