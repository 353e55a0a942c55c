import Foundation

/// The Kubernetes OIDC authenticator's rules for turning a verified claim set into a user,
/// and for the registered claims (`iss`, `aud`, `exp`, `nbf`) checked before the signature.
/// Pure: every input, including the time, is a parameter.
public struct ClaimPolicy: Sendable, Equatable {
    public var issuer: String
    public var clientID: String
    public var usernameClaim: String
    /// The prefix actually applied (the `--oidc-username-prefix` defaulting already resolved).
    public var usernamePrefix: String
    public var groupsClaim: String?
    public var groupsPrefix: String
    public var requiredClaims: [String: String]

    /// go-oidc's allowance for clocks that run behind the issuer's.
    public static let notBeforeLeeway: TimeInterval = 60

    public init(
        issuer: String,
        clientID: String,
        usernameClaim: String = "sub",
        usernamePrefix: String? = nil,
        groupsClaim: String? = nil,
        groupsPrefix: String = "",
        requiredClaims: [String: String] = [:]
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.usernameClaim = usernameClaim
        self.usernamePrefix = Self.resolveUsernamePrefix(usernamePrefix, issuer: issuer, usernameClaim: usernameClaim)
        self.groupsClaim = groupsClaim.flatMap { $0.isEmpty ? nil : $0 }
        self.groupsPrefix = groupsPrefix
        self.requiredClaims = requiredClaims
    }

    /// The kube-apiserver's defaulting of `--oidc-username-prefix`: unset means `<issuer>#` for
    /// every claim but `email`, so that `sub` values of two issuers can never collide; `-` means none.
    public static func resolveUsernamePrefix(_ flag: String?, issuer: String, usernameClaim: String) -> String {
        switch flag {
        case nil: usernameClaim == "email" ? "" : issuer + "#"
        case "-"?: ""
        case let prefix?: prefix
        }
    }

    /// Checks `iss`, `aud`, `exp` and `nbf` as go-oidc does, returning the expiry.
    public func checkRegisteredClaims(_ claims: [String: JSONValue], now: Date) throws(TokenRefusal) -> Date {
        let iss = claims["iss"]?.stringValue
        guard iss == issuer else { throw .issuerMismatch(expected: issuer, actual: iss) }
        let audience: [String]
        switch claims["aud"] {
        case .string(let value)?: audience = [value]
        case .array(let values)?: audience = values.compactMap(\.stringValue)
        case nil, .null?: audience = []
        default: throw .malformed("'aud' is neither a string nor an array of strings")
        }
        guard audience.contains(clientID) else { throw .audienceMismatch(expected: clientID, actual: audience) }
        let expiry: Date
        switch claims["exp"] {
        case .number(let seconds)?: expiry = Date(timeIntervalSince1970: seconds)
        case nil, .null?: throw .missingExpiry
        default: throw .malformed("'exp' is not a number")
        }
        if now > expiry { throw .expired(at: expiry, now: now) }
        switch claims["nbf"] {
        case .number(let seconds)?:
            let notBefore = Date(timeIntervalSince1970: seconds)
            if now.addingTimeInterval(Self.notBeforeLeeway) < notBefore {
                throw .notYetValid(notBefore: notBefore, now: now)
            }
        case nil, .null?: break
        default: throw .malformed("'nbf' is not a number")
        }
        return expiry
    }

    /// Maps a verified claim set (distributed claims already resolved) to a user.
    public func user(from claims: [String: JSONValue]) throws(TokenRefusal) -> UserInfo {
        let username: String
        switch claims[usernameClaim] {
        case nil: throw .missingUsernameClaim(usernameClaim)
        case .string(let value)?: username = value
        // Go unmarshals JSON null into a string as "": the authenticator sees an empty name.
        case .null?: username = ""
        default: throw .usernameClaimNotString(usernameClaim)
        }
        if usernameClaim == "email", let verified = claims["email_verified"] {
            switch verified {
            case .bool(true): break
            case .bool(false), .null: throw .emailNotVerified
            default: throw .emailVerifiedNotBoolean
            }
        }
        var groups: [String] = []
        if let groupsClaim, let value = claims[groupsClaim] {
            groups = try Self.groups(from: value, claim: groupsClaim)
        }
        if !groupsPrefix.isEmpty { groups = groups.map { groupsPrefix + $0 } }
        for (claim, expected) in requiredClaims.sorted(by: { $0.key < $1.key }) {
            let actual: String
            switch claims[claim] {
            case nil: throw .requiredClaimMissing(claim)
            case .string(let value)?: actual = value
            case .null?: actual = ""
            default: throw .requiredClaimNotString(claim)
            }
            if actual != expected { throw .requiredClaimMismatch(claim: claim, expected: expected, actual: actual) }
        }
        return UserInfo(username: usernamePrefix + username, groups: groups)
    }

    /// A groups claim is one group as a string, or an array of strings (kubernetes#33290).
    static func groups(from value: JSONValue, claim: String) throws(TokenRefusal) -> [String] {
        switch value {
        case .string(let group): return [group]
        case .null: return []
        case .array(let entries):
            var groups: [String] = []
            groups.reserveCapacity(entries.count)
            for entry in entries {
                guard case .string(let group) = entry else { throw .groupsClaimInvalid(claim) }
                groups.append(group)
            }
            return groups
        default: throw .groupsClaimInvalid(claim)
        }
    }
}
