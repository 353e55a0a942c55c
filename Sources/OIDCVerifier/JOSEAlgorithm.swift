/// The JWS signature algorithms an issuer's tokens may use (RFC 7518), the same set the
/// Kubernetes OIDC authenticator accepts. `none` and the HMAC family are not representable.
public enum JOSEAlgorithm: String, CaseIterable, Sendable, Hashable {
    case rs256 = "RS256"
    case rs384 = "RS384"
    case rs512 = "RS512"
    case es256 = "ES256"
    case es384 = "ES384"
    case es512 = "ES512"
    case ps256 = "PS256"
    case ps384 = "PS384"
    case ps512 = "PS512"

    public enum AllowListError: Error, Equatable, CustomStringConvertible {
        case refused(String)
        case unknown(String)
        case empty

        public var description: String {
            switch self {
            case .refused(let name):
                "\(name) is never accepted: unsigned and HMAC-signed ID tokens can be forged by anyone who knows the public key"
            case .unknown(let name):
                "unsupported signing algorithm \(name) "
                    + "(supported: \(JOSEAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")))"
            case .empty: "at least one signing algorithm is required"
            }
        }
    }

    /// Parses the `--oidc-signing-algs` list, refusing `none` and every HMAC algorithm outright.
    public static func allowList(_ names: [String]) throws(AllowListError) -> Set<JOSEAlgorithm> {
        var result = Set<JOSEAlgorithm>()
        for name in names {
            if let alg = JOSEAlgorithm(rawValue: name) {
                result.insert(alg)
            } else if name.lowercased() == "none" || name.uppercased().hasPrefix("HS") {
                throw .refused(name)
            } else {
                throw .unknown(name)
            }
        }
        if result.isEmpty { throw .empty }
        return result
    }

    var keyType: KeyType {
        switch self {
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: .rsa
        case .es256: .p256
        case .es384: .p384
        case .es512: .p521
        }
    }

    enum KeyType { case rsa, p256, p384, p521 }
}
