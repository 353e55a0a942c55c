import Foundation

/// Why a bearer token was not accepted.
///
/// One value serves the 401 path, the verification metric (``reason``) and the operator-facing
/// diagnosis (``description``), so all three always agree.
public enum TokenRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The token is not a compact JWS (three base64url segments with JSON header and payload).
    case malformed(String)
    /// The `alg` header names an algorithm outside `--oidc-signing-algs`.
    case unsupportedAlgorithm(String, allowed: [String])
    /// The token carries a `crit` header; no critical extension is understood.
    case unsupportedCriticalHeader
    /// The issuer's keys have not been loaded yet (discovery or JWKS still failing).
    case keysNotLoaded
    /// No key in the issuer's JWKS has the token's `kid`, even after a refetch.
    case unknownKeyID(String)
    /// No key of the issuer verified the signature.
    case invalidSignature
    case issuerMismatch(expected: String, actual: String?)
    case audienceMismatch(expected: String, actual: [String])
    case missingExpiry
    case expired(at: Date, now: Date)
    case notYetValid(notBefore: Date, now: Date)
    case claimNotJSON(String)
    case missingUsernameClaim(String)
    case usernameClaimNotString(String)
    case emailVerifiedNotBoolean
    case emailNotVerified
    case groupsClaimInvalid(String)
    case requiredClaimMissing(String)
    case requiredClaimNotString(String)
    case requiredClaimMismatch(claim: String, expected: String, actual: String)
    case distributedClaim(String)

    /// A short, stable label for metrics and logs.
    public var reason: String {
        switch self {
        case .malformed: "malformed"
        case .unsupportedAlgorithm: "unsupported_algorithm"
        case .unsupportedCriticalHeader: "unsupported_critical_header"
        case .keysNotLoaded: "keys_not_loaded"
        case .unknownKeyID: "unknown_kid"
        case .invalidSignature: "invalid_signature"
        case .issuerMismatch: "issuer_mismatch"
        case .audienceMismatch: "audience_mismatch"
        case .missingExpiry: "missing_exp"
        case .expired: "expired"
        case .notYetValid: "not_yet_valid"
        case .claimNotJSON: "malformed"
        case .missingUsernameClaim: "missing_username_claim"
        case .usernameClaimNotString: "invalid_username_claim"
        case .emailVerifiedNotBoolean: "invalid_email_verified"
        case .emailNotVerified: "email_not_verified"
        case .groupsClaimInvalid: "invalid_groups_claim"
        case .requiredClaimMissing, .requiredClaimNotString, .requiredClaimMismatch: "required_claim"
        case .distributedClaim: "distributed_claim"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let detail):
            return "token is not a valid JWT: \(detail)"
        case .unsupportedAlgorithm(let alg, let allowed):
            return "token is signed with \(alg.isEmpty ? "no algorithm" : alg), "
                + "which --oidc-signing-algs does not allow (allowed: \(allowed.joined(separator: ",")))"
        case .unsupportedCriticalHeader:
            return "token has a 'crit' header with extensions this verifier does not understand"
        case .keysNotLoaded:
            return "the issuer's signing keys are not loaded yet (discovery or JWKS fetch is failing)"
        case .unknownKeyID(let kid):
            return "no key with kid \"\(kid)\" in the issuer's JWKS"
        case .invalidSignature:
            return "signature does not verify with any of the issuer's keys"
        case .issuerMismatch(let expected, let actual):
            return "token issuer \(actual.map { "\"\($0)\"" } ?? "(missing)") does not match "
                + "--oidc-issuer-url \"\(expected)\""
        case .audienceMismatch(let expected, let actual):
            let got = actual.isEmpty ? "(none)" : actual.map { "\"\($0)\"" }.joined(separator: ", ")
            return "token audience \(got) does not contain --oidc-client-id \"\(expected)\""
        case .missingExpiry:
            return "token has no 'exp' claim"
        case .expired(let at, let now):
            return "token expired at \(Self.format(at)) (now \(Self.format(now)))"
        case .notYetValid(let notBefore, let now):
            return "token is not valid before \(Self.format(notBefore)) (now \(Self.format(now)))"
        case .claimNotJSON(let detail):
            return "token payload is not a JSON object: \(detail)"
        case .missingUsernameClaim(let claim):
            return "username claim \"\(claim)\" is not present in the token"
        case .usernameClaimNotString(let claim):
            return "username claim \"\(claim)\" is not a string"
        case .emailVerifiedNotBoolean:
            return "claim 'email_verified' is present but not a boolean"
        case .emailNotVerified:
            return "email is not verified ('email_verified' is false)"
        case .groupsClaimInvalid(let claim):
            return "groups claim \"\(claim)\" is neither a string nor an array of strings"
        case .requiredClaimMissing(let claim):
            return "required claim \"\(claim)\" is not present in the token"
        case .requiredClaimNotString(let claim):
            return "required claim \"\(claim)\" is not a string"
        case .requiredClaimMismatch(let claim, let expected, let actual):
            return "required claim \"\(claim)\" is \"\(actual)\", expected \"\(expected)\""
        case .distributedClaim(let detail):
            return "distributed claim: \(detail)"
        }
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
