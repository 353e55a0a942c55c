import Foundation
import HTTPTypes
import Impersonation
import OIDCVerifier
import Testing
import TokenDiagnosis

/// Every reason a token can be refused, explained: each report names the values involved, so
/// an operator can fix the configuration or the token without reading code.
@Suite struct TokenReportTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)  // 2025-06-15 15:06:40 UTC

    static func configuration(
        requiredClaims: [String: String] = [:], caFile: String? = nil
    ) throws -> OIDCConfiguration {
        try OIDCConfiguration(
            issuerURL: "https://login.banyan.example", clientID: "kube", usernameClaim: "email",
            usernamePrefix: "banyan:", groupsClaim: "roles", groupsPrefix: "banyan:", requiredClaims: requiredClaims,
            signingAlgorithms: ["RS256", "ES256"], caFile: caFile)
    }

    static func context(
        claims: [String: JSONValue] = [:], keyID: String? = "key-1", keyIDs: [String]? = ["key-a", "key-b"],
        keyLoadFailure: String? = nil, requiredClaims: [String: String] = [:]
    ) throws -> TokenReport.Context {
        TokenReport.Context(
            now: now, configuration: try configuration(requiredClaims: requiredClaims), issuerKeyIDs: keyIDs,
            keyLoadFailure: keyLoadFailure, token: TokenContents(algorithm: "RS256", keyID: keyID, claims: claims))
    }

    func report(_ refusal: TokenRefusal, _ context: TokenReport.Context) -> TokenReport {
        TokenReport(.refused(refusal), context: context)
    }

    // MARK: One test per reason

    @Test func issuerMismatchNamesBothIssuers() throws {
        let text = report(
            .issuerMismatch(expected: "https://login.banyan.example", actual: "https://other.example"),
            try Self.context()
        ).text
        #expect(text.hasPrefix("REFUSED (401): the token's issuer does not match --oidc-issuer-url\n"))
        #expect(text.contains("token iss:          \"https://other.example\""))
        #expect(text.contains("--oidc-issuer-url:  \"https://login.banyan.example\""))
    }

    @Test func aTrailingSlashIsPointedOut() throws {
        let text = report(
            .issuerMismatch(expected: "https://login.banyan.example", actual: "https://login.banyan.example/"),
            try Self.context()
        ).text
        #expect(text.contains("differ only by a trailing slash"))
        #expect(text.contains("exactly \"https://login.banyan.example/\""))
    }

    @Test func aMissingIssuerIsSaidSo() throws {
        let text = report(.issuerMismatch(expected: "https://login.banyan.example", actual: nil), try Self.context())
            .text
        #expect(text.hasPrefix("REFUSED (401): the token has no 'iss' claim"))
        #expect(text.contains("token iss:          (missing)"))
    }

    @Test func audienceMismatchNamesExpectedAndActual() throws {
        let text = report(.audienceMismatch(expected: "kube", actual: ["banyan-web", "api"]), try Self.context()).text
        #expect(text.hasPrefix("REFUSED (401): the token's audience does not include --oidc-client-id\n"))
        #expect(text.contains("token aud:         \"banyan-web\", \"api\""))
        #expect(text.contains("--oidc-client-id:  \"kube\""))
        let none = report(.audienceMismatch(expected: "kube", actual: []), try Self.context()).text
        #expect(none.contains("token aud:         (none)"))
    }

    @Test func expiryNamesWhenInUTCAndHowLongAgo() throws {
        let expired = Self.now.addingTimeInterval(-(3 * 3600 + 12 * 60))
        let text = report(.expired(at: expired, now: Self.now), try Self.context()).text
        #expect(text.hasPrefix("REFUSED (401): the token expired 3h12m ago\n"))
        #expect(text.contains("expired:  2025-06-15 11:54:40 UTC"))
        #expect(text.contains("now:      2025-06-15 15:06:40 UTC"))
        #expect(text.contains("sign in again"))
    }

    @Test func notYetValidNamesWhenAndTheSkewAllowance() throws {
        let text = report(.notYetValid(notBefore: Self.now.addingTimeInterval(600), now: Self.now), try Self.context())
            .text
        #expect(text.hasPrefix("REFUSED (401): the token is not valid for another 10m\n"))
        #expect(text.contains("not before:  2025-06-15 15:16:40 UTC"))
        #expect(text.contains("60 s allowed for clock skew"))
    }

    @Test func aMissingExpiryListsTheClaimsThereAre() throws {
        let text = report(.missingExpiry, try Self.context(claims: ["iss": .string("x"), "sub": .string("y")])).text
        #expect(text.hasPrefix("REFUSED (401): the token has no 'exp' claim"))
        #expect(text.contains("claims:  iss, sub"))
    }

    @Test func anUnsupportedAlgorithmNamesItAndTheAllowedList() throws {
        let text = report(.unsupportedAlgorithm("RS512", allowed: ["ES256", "RS256"]), try Self.context()).text
        #expect(
            text.hasPrefix("REFUSED (401): the token is signed with RS512, which --oidc-signing-algs does not allow\n"))
        #expect(text.contains("token alg:  RS512"))
        #expect(text.contains("allowed:    ES256, RS256"))
        #expect(text.contains("--oidc-signing-algs=ES256,RS256,RS512"))
    }

    @Test func hmacAndNoneAreNeverToBeAllowed() throws {
        for alg in ["HS256", "none", ""] {
            let text = report(.unsupportedAlgorithm(alg, allowed: ["RS256"]), try Self.context()).text
            #expect(text.contains("never accepted"), "\(alg)")
            #expect(!text.contains("--oidc-signing-algs=RS256,"), "\(alg)")
        }
    }

    @Test func anUnknownKidNamesItAndTheKidsTheJWKSHas() throws {
        let text = report(
            .unknownKeyID("old-key"),
            try Self.context(claims: ["iss": .string("https://login.banyan.example")], keyID: "old-key")
        ).text
        #expect(
            text.hasPrefix(
                "REFUSED (401): the token was signed with key \"old-key\", which is not in the issuer's JWKS\n"))
        #expect(text.contains("token kid:          old-key"))
        #expect(text.contains("JWKS kids:          \"key-a\", \"key-b\""))
        #expect(text.contains("token iss:          \"https://login.banyan.example\""))
    }

    @Test func anInvalidSignatureNamesTheKids() throws {
        let text = report(.invalidSignature, try Self.context(keyID: "key-a")).text
        #expect(text.hasPrefix("REFUSED (401): the token's signature does not verify with any of the issuer's keys\n"))
        #expect(text.contains("token kid:  key-a"))
        #expect(text.contains("JWKS kids:  \"key-a\", \"key-b\""))
    }

    @Test func emailNotVerifiedShowsTheEmailAndTheFlag() throws {
        let text = report(
            .emailNotVerified,
            try Self.context(claims: ["email": .string("alice@example.com"), "email_verified": .bool(false)])
        ).text
        #expect(text.hasPrefix("REFUSED (401): the token's email is not verified ('email_verified' is false)\n"))
        #expect(text.contains("token email:           the string \"alice@example.com\""))
        #expect(text.contains("token email_verified:  the boolean false"))
    }

    @Test func emailVerifiedOfAnotherTypeIsShownWithItsType() throws {
        let text = report(.emailVerifiedNotBoolean, try Self.context(claims: ["email_verified": .string("true")])).text
        #expect(text.contains("token email_verified:  the string \"true\""))
    }

    @Test func aMissingUsernameClaimIsNamedWithTheClaimsThereAre() throws {
        let text = report(
            .missingUsernameClaim("email"),
            try Self.context(claims: ["sub": .string("u1"), "aud": .string("kube"), "roles": .array([])])
        ).text
        #expect(text.hasPrefix("REFUSED (401): the token has no \"email\" claim, which --oidc-username-claim names\n"))
        #expect(text.contains("--oidc-username-claim:  \"email\""))
        #expect(text.contains("token claims:           aud, roles, sub"))
    }

    @Test func aUsernameClaimOfAnotherTypeIsShownWithItsType() throws {
        let text = report(.usernameClaimNotString("email"), try Self.context(claims: ["email": .number(42)])).text
        #expect(text.hasPrefix("REFUSED (401): the username claim \"email\" is not a string\n"))
        #expect(text.contains("token email:  a number"))
    }

    @Test func anInvalidGroupsClaimIsShownWithItsType() throws {
        let text = report(.groupsClaimInvalid("roles"), try Self.context(claims: ["roles": .object([:])])).text
        #expect(
            text.hasPrefix("REFUSED (401): the groups claim \"roles\" is neither a string nor an array of strings\n"))
        #expect(text.contains("token roles:  an object"))
    }

    @Test func aMissingRequiredClaimNamesTheClaimAndTheValueRequired() throws {
        let text = report(.requiredClaimMissing("tenant"), try Self.context(requiredClaims: ["tenant": "acme"])).text
        #expect(
            text.hasPrefix("REFUSED (401): the token has no \"tenant\" claim, which --oidc-required-claim requires\n"))
        #expect(text.contains("required:      tenant=acme"))
        #expect(text.contains("token tenant:  (missing)"))
    }

    @Test func aRequiredClaimMismatchNamesExpectedAndActual() throws {
        let text = report(
            .requiredClaimMismatch(claim: "tenant", expected: "acme", actual: "globex"),
            try Self.context(requiredClaims: ["tenant": "acme"])
        ).text
        #expect(text.hasPrefix("REFUSED (401): the required claim \"tenant\" has another value"))
        #expect(text.contains("required:      tenant=acme"))
        #expect(text.contains("token tenant:  \"globex\""))
    }

    @Test func aRequiredClaimOfAnotherTypeIsShownWithItsType() throws {
        let text = report(
            .requiredClaimNotString("tenant"),
            try Self.context(claims: ["tenant": .array([])], requiredClaims: ["tenant": "acme"])
        ).text
        #expect(text.contains("token tenant:  an array"))
    }

    @Test func unloadableKeysSayWhyAndWhatToDo() throws {
        let untrusted = report(
            .keysNotLoaded,
            try Self.context(
                keyIDs: nil,
                keyLoadFailure: "handshakeFailed(sslError([error:1000007d:SSL routines:CERTIFICATE_VERIFY_FAILED]))")
        ).text
        #expect(untrusted.hasPrefix("REFUSED (401): the issuer's signing keys could not be loaded"))
        #expect(untrusted.contains("--oidc-issuer-url:  \"https://login.banyan.example\""))
        #expect(untrusted.contains("--oidc-ca-file:     (system roots)"))
        #expect(untrusted.contains("CERTIFICATE_VERIFY_FAILED"))
        #expect(untrusted.contains("give its CA with --oidc-ca-file"))
        let mismatch = report(
            .keysNotLoaded,
            try Self.context(
                keyIDs: nil,
                keyLoadFailure:
                    "discovery document's issuer \"https://a/\" does not match \"https://login.banyan.example\""
            )
        ).text
        #expect(mismatch.contains("names another issuer"))
        let down = report(
            .keysNotLoaded, try Self.context(keyIDs: nil, keyLoadFailure: "connect(descriptor:): Connection refused")
        ).text
        #expect(down.contains("cannot be reached"))
    }

    @Test func aMalformedTokenAsksForTheIDTokenItself() throws {
        let text = report(.malformed("expected 3 dot-separated segments, found 1"), try Self.context(keyID: nil)).text
        #expect(
            text.hasPrefix(
                "REFUSED (401): the token is not a JWT the proxy can read: expected 3 dot-separated segments"))
        #expect(text.contains("Give the ID token itself"))
    }

    @Test func everyRefusalIsExplainedAsARefusalInOneHeadline() throws {
        let context = try Self.context()
        var covered = Set<String>()
        for refusal in Self.everyRefusal {
            covered.insert(Self.caseName(refusal))
            let report = report(refusal, context)
            #expect(!report.accepted)
            #expect(report.headline.hasPrefix("REFUSED (401): "), "\(refusal)")
            #expect(!report.headline.contains("\n"))
            #expect(report.text.hasSuffix("\n"))
        }
        #expect(covered.count == Self.allCaseNames.count, "missing: \(Self.allCaseNames.subtracting(covered))")
    }

    // MARK: Accepted and 403

    @Test func anAcceptedTokenShowsUserGroupsExpiryAndHeaders() throws {
        let verified = VerifiedToken(
            user: UserInfo(username: "banyan:alice@example.com", groups: ["banyan:admin", "banyan:dev"]),
            expiresAt: Self.now.addingTimeInterval(3540))
        let verdict = TokenVerdict.impersonating(
            verified, options: ImpersonationOptions(extraUserHeaders: [ExtraUserHeader(key: "team", value: "blue")]))
        let report = TokenReport(verdict, context: try Self.context())
        #expect(report.accepted)
        #expect(
            report.text == """
                ACCEPTED: requests with this token are forwarded as banyan:alice@example.com
                  user:     banyan:alice@example.com
                  groups:   banyan:admin, banyan:dev, system:authenticated
                  expires:  2025-06-15 16:05:40 UTC (in 59m)
                Headers the proxy would send to the API server (with its own credentials):
                  Impersonate-User: banyan:alice@example.com
                  Impersonate-Group: banyan:admin
                  Impersonate-Group: banyan:dev
                  Impersonate-Group: system:authenticated
                  Impersonate-Extra-team: blue

                """)
    }

    @Test func anEmptyUsernameIsA403NamingTheClaim() throws {
        let verified = VerifiedToken(user: UserInfo(username: ""), expiresAt: Self.now.addingTimeInterval(60))
        let verdict = TokenVerdict.impersonating(verified, options: ImpersonationOptions())
        #expect(verdict == .forbidden(.emptyUsername, user: verified.user))
        let report = TokenReport(verdict, context: try Self.context(claims: ["email": .string("")]))
        #expect(!report.accepted)
        #expect(report.headline.hasPrefix("REFUSED (403): the username claim \"email\" is empty"))
        #expect(report.text.contains("Username claim not available in OIDC Issuer response"))
    }

    @Test func aUsernameThatCannotBeAHeaderIsA403() throws {
        let verified = VerifiedToken(user: UserInfo(username: "alice\n"), expiresAt: Self.now.addingTimeInterval(60))
        let report = TokenReport(
            TokenVerdict.impersonating(verified, options: ImpersonationOptions()), context: try Self.context())
        #expect(report.headline == "REFUSED (403): the user's Impersonate-User value cannot be sent in an HTTP header")
    }

    // MARK: Coverage of TokenRefusal

    static let everyRefusal: [TokenRefusal] = [
        .malformed("x"), .unsupportedAlgorithm("RS512", allowed: ["RS256"]), .unsupportedCriticalHeader,
        .keysNotLoaded, .unknownKeyID("k"), .invalidSignature, .issuerMismatch(expected: "a", actual: "b"),
        .audienceMismatch(expected: "a", actual: ["b"]), .missingExpiry, .expired(at: now, now: now),
        .notYetValid(notBefore: now, now: now), .claimNotJSON("x"), .missingUsernameClaim("email"),
        .usernameClaimNotString("email"), .emailVerifiedNotBoolean, .emailNotVerified, .groupsClaimInvalid("roles"),
        .requiredClaimMissing("c"), .requiredClaimNotString("c"),
        .requiredClaimMismatch(claim: "c", expected: "a", actual: "b"), .distributedClaim("x"),
    ]

    /// Exhaustive on purpose: a new refusal does not compile here until it is listed above.
    static func caseName(_ refusal: TokenRefusal) -> String {
        switch refusal {
        case .malformed: "malformed"
        case .unsupportedAlgorithm: "unsupportedAlgorithm"
        case .unsupportedCriticalHeader: "unsupportedCriticalHeader"
        case .keysNotLoaded: "keysNotLoaded"
        case .unknownKeyID: "unknownKeyID"
        case .invalidSignature: "invalidSignature"
        case .issuerMismatch: "issuerMismatch"
        case .audienceMismatch: "audienceMismatch"
        case .missingExpiry: "missingExpiry"
        case .expired: "expired"
        case .notYetValid: "notYetValid"
        case .claimNotJSON: "claimNotJSON"
        case .missingUsernameClaim: "missingUsernameClaim"
        case .usernameClaimNotString: "usernameClaimNotString"
        case .emailVerifiedNotBoolean: "emailVerifiedNotBoolean"
        case .emailNotVerified: "emailNotVerified"
        case .groupsClaimInvalid: "groupsClaimInvalid"
        case .requiredClaimMissing: "requiredClaimMissing"
        case .requiredClaimNotString: "requiredClaimNotString"
        case .requiredClaimMismatch: "requiredClaimMismatch"
        case .distributedClaim: "distributedClaim"
        }
    }

    static let allCaseNames: Set<String> = [
        "malformed", "unsupportedAlgorithm", "unsupportedCriticalHeader", "keysNotLoaded", "unknownKeyID",
        "invalidSignature", "issuerMismatch", "audienceMismatch", "missingExpiry", "expired", "notYetValid",
        "claimNotJSON", "missingUsernameClaim", "usernameClaimNotString", "emailVerifiedNotBoolean", "emailNotVerified",
        "groupsClaimInvalid", "requiredClaimMissing", "requiredClaimNotString", "requiredClaimMismatch",
        "distributedClaim",
    ]
}
