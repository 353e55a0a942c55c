import Foundation
import HTTPTypes
import Impersonation
import OIDCVerifier

/// `check-token`'s answer, in the operator's words: accepted with the identity the proxy would
/// impersonate, or refused with the reason, the values involved and what to change. Pure: the
/// verdict and everything known around it go in, text comes out. The token is never part of it.
public struct TokenReport: Sendable, Equatable {
    /// One named value shown under the headline (`token iss: "https://…"`).
    public struct Fact: Sendable, Equatable {
        public var label: String
        public var value: String

        public init(_ label: String, _ value: String) {
            self.label = label
            self.value = value
        }
    }

    /// What is known besides the verdict: the clock, the proxy's settings, what the issuer
    /// published and what the token claims about itself (unverified).
    public struct Context: Sendable, Equatable {
        public var now: Date
        public var issuerURL: String
        public var clientID: String
        public var usernameClaim: String
        public var groupsClaim: String?
        public var requiredClaims: [String: String]
        public var allowedAlgorithms: [String]
        public var issuerCAFile: String?
        /// The `kid`s the issuer's JWKS holds; nil when it could not be loaded.
        public var issuerKeyIDs: [String]?
        /// Why discovery or the JWKS fetch failed, when it did.
        public var keyLoadFailure: String?
        public var token: TokenContents

        public init(
            now: Date, configuration: OIDCConfiguration, issuerKeyIDs: [String]?, keyLoadFailure: String?,
            token: TokenContents
        ) {
            self.now = now
            issuerURL = configuration.policy.issuer
            clientID = configuration.policy.clientID
            usernameClaim = configuration.policy.usernameClaim
            groupsClaim = configuration.policy.groupsClaim
            requiredClaims = configuration.policy.requiredClaims
            allowedAlgorithms = configuration.allowedAlgorithms.map(\.rawValue).sorted()
            issuerCAFile = configuration.caFile
            self.issuerKeyIDs = issuerKeyIDs
            self.keyLoadFailure = keyLoadFailure
            self.token = token
        }
    }

    public let accepted: Bool
    /// One line: what the proxy would do, and the reason.
    public let headline: String
    public let facts: [Fact]
    public let advice: [String]

    public init(accepted: Bool, headline: String, facts: [Fact] = [], advice: [String] = []) {
        self.accepted = accepted
        self.headline = headline
        self.facts = facts
        self.advice = advice
    }

    /// The report as printed: the headline, the facts aligned, then the advice.
    public var text: String {
        var lines = [headline]
        // Values line up two spaces after the longest label's colon.
        let width = (facts.map(\.label.count).max() ?? 0) + 3
        for fact in facts {
            lines.append("  " + (fact.label + ":").padding(toLength: width, withPad: " ", startingAt: 0) + fact.value)
        }
        lines += advice
        return lines.joined(separator: "\n") + "\n"
    }

    public init(_ verdict: TokenVerdict, context: Context) {
        switch verdict {
        case .accepted(let verified, let fields):
            self = Self.accepted(verified, fields: fields, context: context)
        case .refused(let refusal):
            self = Self.refused(refusal, context: context)
        case .forbidden(let refusal, let user):
            self = Self.forbidden(refusal, user: user, context: context)
        }
    }

    // MARK: Accepted

    private static func accepted(_ verified: VerifiedToken, fields: [HTTPField], context: Context) -> TokenReport {
        let groups = fields.filter { $0.name == .impersonateGroup }.map(\.value)
        var facts = [
            Fact("user", verified.user.username),
            Fact("groups", groups.isEmpty ? "(none)" : groups.joined(separator: ", ")),
        ]
        for (key, values) in verified.user.extra.sorted(by: { $0.key < $1.key }) {
            facts.append(Fact("extra \(key)", values.joined(separator: ", ")))
        }
        facts.append(
            Fact(
                "expires",
                "\(TimeWording.utc(verified.expiresAt)) "
                    + "(in \(TimeWording.span(verified.expiresAt.timeIntervalSince(context.now))))"))
        var advice = ["Headers the proxy would send to the API server (with its own credentials):"]
        advice += fields.map { "  \($0.name.rawName): \($0.value)" }
        return TokenReport(
            accepted: true, headline: "ACCEPTED: requests with this token are forwarded as \(verified.user.username)",
            facts: facts, advice: advice)
    }

    // MARK: Forbidden (403)

    private static func forbidden(_ refusal: ImpersonationRefusal, user: UserInfo, context: Context) -> TokenReport {
        switch refusal {
        case .emptyUsername:
            return TokenReport(
                accepted: false,
                headline: "REFUSED (403): the username claim \"\(context.usernameClaim)\" is empty, "
                    + "so there is no one to impersonate",
                facts: [Fact("token \(context.usernameClaim)", describeClaim(context.usernameClaim, context))],
                advice: [
                    "The proxy answers \"\(refusal.message)\". Have the issuer fill the claim, "
                        + "or pick another with --oidc-username-claim."
                ])
        case .unrepresentableValue(let name):
            return TokenReport(
                accepted: false,
                headline: "REFUSED (403): the user's \(name.rawName) value cannot be sent in an HTTP header",
                facts: [Fact("user", user.username), Fact("groups", user.groups.joined(separator: ", "))],
                advice: [
                    "A value holds a control character or leading or trailing white space; "
                        + "sending it altered would impersonate someone else."
                ])
        case .clientImpersonationHeader(let name):
            return TokenReport(
                accepted: false, headline: "REFUSED (403): the request carries \(name.rawName) itself",
                advice: ["Impersonation requests are disabled when using kube-oidc-proxy."])
        }
    }

    // MARK: Refused (401)

    private static func refused(_ refusal: TokenRefusal, context: Context) -> TokenReport {
        let refused = "REFUSED (401): "
        switch refusal {
        case .malformed(let detail):
            var advice = [
                "Give the ID token itself: three base64url parts separated by dots (\"eyJ…\"), "
                    + "not an access token, a refresh token or a whole Authorization header."
            ]
            if context.token.claims.isEmpty && context.token.algorithm == nil {
                advice.append("This one does not even have a readable JWT header.")
            }
            return TokenReport(
                accepted: false, headline: refused + "the token is not a JWT the proxy can read: \(detail)",
                advice: advice)

        case .unsupportedAlgorithm(let alg, let allowed):
            let shown = alg.isEmpty ? "(none)" : alg
            let never = alg.lowercased() == "none" || alg.uppercased().hasPrefix("HS") || alg.isEmpty
            return TokenReport(
                accepted: false,
                headline: refused + "the token is signed with \(shown), which --oidc-signing-algs does not allow",
                facts: [Fact("token alg", shown), Fact("allowed", allowed.joined(separator: ", "))],
                advice: [
                    never
                        ? "Unsigned (none) and HMAC-signed (HS256/384/512) tokens are never accepted."
                        : "If the issuer really signs with \(alg), add it: "
                            + "--oidc-signing-algs=\((allowed + [alg]).joined(separator: ","))"
                ])

        case .unsupportedCriticalHeader:
            return TokenReport(
                accepted: false,
                headline: refused
                    + "the token's header has a 'crit' entry naming extensions the proxy does not understand",
                advice: ["The Kubernetes authenticator refuses such tokens too; have the issuer drop 'crit'."])

        case .keysNotLoaded:
            return keysNotLoaded(context)

        case .unknownKeyID(let kid):
            return TokenReport(
                accepted: false,
                headline: refused + "the token was signed with key \"\(kid)\", which is not in the issuer's JWKS",
                facts: [
                    Fact("token kid", kid), Fact("JWKS kids", keyIDList(context.issuerKeyIDs)),
                    Fact("token iss", quoted(context.token.claims["iss"]?.stringValue)),
                    Fact("--oidc-issuer-url", quoted(context.issuerURL)),
                ],
                advice: [
                    "The key may belong to another issuer or environment (compare the two issuers above), "
                        + "or it was rotated out of the JWKS; a fresh token is signed with a current key."
                ])

        case .invalidSignature:
            var facts = [Fact("JWKS kids", keyIDList(context.issuerKeyIDs))]
            if let kid = context.token.keyID { facts.insert(Fact("token kid", kid), at: 0) }
            return TokenReport(
                accepted: false,
                headline: refused + "the token's signature does not verify with any of the issuer's keys",
                facts: facts,
                advice: ["The token was altered, or signed by someone other than the issuer under a kid it publishes."])

        case .issuerMismatch(let expected, let actual):
            var advice = ["The two must be equal character for character (scheme, host, port, path)."]
            if let actual, trimmedSlash(actual) == trimmedSlash(expected) {
                advice = [
                    "They differ only by a trailing slash, which counts: make --oidc-issuer-url exactly \(quoted(actual))."
                ]
            }
            return TokenReport(
                accepted: false,
                headline: refused
                    + (actual == nil
                        ? "the token has no 'iss' claim" : "the token's issuer does not match --oidc-issuer-url"),
                facts: [Fact("token iss", quoted(actual)), Fact("--oidc-issuer-url", quoted(expected))],
                advice: advice)

        case .audienceMismatch(let expected, let actual):
            return TokenReport(
                accepted: false,
                headline: refused + "the token's audience does not include --oidc-client-id",
                facts: [
                    Fact("token aud", actual.isEmpty ? "(none)" : actual.map(quoted).joined(separator: ", ")),
                    Fact("--oidc-client-id", quoted(expected)),
                ],
                advice: [
                    "Set --oidc-client-id to the client ID the issuer puts in 'aud' "
                        + "(for Banyan, the cluster's OIDC client ID), or have the token issued for \(quoted(expected))."
                ])

        case .missingExpiry:
            return TokenReport(
                accepted: false, headline: refused + "the token has no 'exp' claim; the proxy requires one",
                facts: [Fact("claims", context.token.claimNames.joined(separator: ", "))])

        case .expired(let at, let now):
            return TokenReport(
                accepted: false,
                headline: refused + "the token expired \(TimeWording.span(now.timeIntervalSince(at))) ago",
                facts: [Fact("expired", TimeWording.utc(at)), Fact("now", TimeWording.utc(now))],
                advice: [
                    "Get a fresh token (sign in again). If it expired only moments ago, check this machine's clock."
                ])

        case .notYetValid(let notBefore, let now):
            return TokenReport(
                accepted: false,
                headline: refused
                    + "the token is not valid for another \(TimeWording.span(notBefore.timeIntervalSince(now)))",
                facts: [Fact("not before", TimeWording.utc(notBefore)), Fact("now", TimeWording.utc(now))],
                advice: [
                    "Its 'nbf' is further in the future than the \(Int(ClaimPolicy.notBeforeLeeway)) s allowed for "
                        + "clock skew: the issuer's clock or this machine's is wrong."
                ])

        case .claimNotJSON(let detail):
            return TokenReport(
                accepted: false, headline: refused + "the token's claims are not a JSON object: \(detail)")

        case .missingUsernameClaim(let claim):
            return TokenReport(
                accepted: false,
                headline: refused + "the token has no \"\(claim)\" claim, which --oidc-username-claim names",
                facts: [
                    Fact("--oidc-username-claim", quoted(claim)),
                    Fact("token claims", context.token.claimNames.joined(separator: ", ")),
                ],
                advice: [
                    "Choose a claim the token has with --oidc-username-claim, "
                        + "or have the issuer include \"\(claim)\" (for Banyan, the user's email)."
                ])

        case .usernameClaimNotString(let claim):
            return TokenReport(
                accepted: false,
                headline: refused + "the username claim \"\(claim)\" is not a string",
                facts: [Fact("token \(claim)", describeClaim(claim, context))],
                advice: ["Choose a claim holding a string with --oidc-username-claim."])

        case .emailVerifiedNotBoolean:
            return TokenReport(
                accepted: false,
                headline: refused + "the token's 'email_verified' claim is neither true nor false",
                facts: [Fact("token email_verified", describeClaim("email_verified", context))],
                advice: ["With --oidc-username-claim=email it must be the JSON boolean true."])

        case .emailNotVerified:
            return TokenReport(
                accepted: false,
                headline: refused + "the token's email is not verified ('email_verified' is false)",
                facts: [
                    Fact("token email", describeClaim("email", context)),
                    Fact("token email_verified", describeClaim("email_verified", context)),
                ],
                advice: [
                    "With --oidc-username-claim=email the Kubernetes authenticator accepts only verified addresses: "
                        + "verify it at the identity provider, or use another --oidc-username-claim."
                ])

        case .groupsClaimInvalid(let claim):
            return TokenReport(
                accepted: false,
                headline: refused + "the groups claim \"\(claim)\" is neither a string nor an array of strings",
                facts: [Fact("token \(claim)", describeClaim(claim, context))],
                advice: ["Point --oidc-groups-claim at a claim holding a string or an array of strings."])

        case .requiredClaimMissing(let claim):
            return requiredClaim(
                claim, actual: "(missing)", context: context, headline: "the token has no \"\(claim)\" claim")

        case .requiredClaimNotString(let claim):
            return requiredClaim(
                claim, actual: describeClaim(claim, context), context: context,
                headline: "the required claim \"\(claim)\" is not a string")

        case .requiredClaimMismatch(let claim, _, let actual):
            return requiredClaim(
                claim, actual: quoted(actual), context: context,
                headline: "the required claim \"\(claim)\" has another value")

        case .distributedClaim(let detail):
            return TokenReport(
                accepted: false,
                headline: refused + "the groups claim is distributed and could not be resolved",
                facts: [Fact("problem", detail)],
                advice: [
                    "The token names its groups through '_claim_names'/'_claim_sources'; "
                        + "the proxy fetches them as the Kubernetes authenticator does."
                ])
        }
    }

    private static func requiredClaim(_ claim: String, actual: String, context: Context, headline: String)
        -> TokenReport
    {
        let expected = context.requiredClaims[claim] ?? ""
        return TokenReport(
            accepted: false,
            headline: "REFUSED (401): " + headline + ", which --oidc-required-claim requires",
            facts: [Fact("required", "\(claim)=\(expected)"), Fact("token \(claim)", actual)],
            advice: [
                "The claim must be present with exactly the string \(quoted(expected)): "
                    + "have the issuer add it, or drop --oidc-required-claim=\(claim)=\(expected)."
            ])
    }

    private static func keysNotLoaded(_ context: Context) -> TokenReport {
        let failure = context.keyLoadFailure ?? "(no error recorded)"
        var facts = [
            Fact("--oidc-issuer-url", quoted(context.issuerURL)),
            Fact("--oidc-ca-file", context.issuerCAFile ?? "(system roots)"),
            Fact("error", failure),
        ]
        if let iss = context.token.claims["iss"]?.stringValue, iss != context.issuerURL {
            facts.insert(Fact("token iss", quoted(iss)), at: 1)
        }
        var advice: [String] = []
        let lowered = failure.lowercased()
        if lowered.contains("certificate") || lowered.contains("handshake") || lowered.contains("ssl") {
            advice.append(
                "The issuer's TLS certificate is not trusted: give its CA with --oidc-ca-file "
                    + "(a given bundle replaces the system roots).")
        } else if lowered.contains("does not match") {
            advice.append(
                "The issuer's discovery document names another issuer: --oidc-issuer-url must equal its "
                    + "'issuer' exactly.")
        } else if lowered.contains("connect") || lowered.contains("refused") || lowered.contains("timed out")
            || lowered.contains("timeout") || lowered.contains("resolve") || lowered.contains("dns")
        {
            advice.append("The issuer cannot be reached from here: check the URL, DNS and any firewall in between.")
        } else {
            advice.append(
                "Discovery is read from <issuer>/.well-known/openid-configuration, then the keys from its jwks_uri.")
        }
        advice.append("Until the keys load, the proxy refuses every token (and /ready answers 503).")
        return TokenReport(
            accepted: false,
            headline: "REFUSED (401): the issuer's signing keys could not be loaded, so no token can be verified",
            facts: facts, advice: advice)
    }

    // MARK: Wording helpers

    private static func quoted(_ value: String?) -> String {
        value.map { "\"\($0)\"" } ?? "(missing)"
    }

    private static func trimmedSlash(_ value: String) -> String {
        value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    private static func keyIDList(_ ids: [String]?) -> String {
        guard let ids else { return "(keys not loaded)" }
        return ids.isEmpty ? "(no key has a kid)" : ids.map(quoted).joined(separator: ", ")
    }

    private static func describeClaim(_ claim: String, _ context: Context) -> String {
        context.token.claims[claim]?.typeDescription ?? "(missing)"
    }
}
