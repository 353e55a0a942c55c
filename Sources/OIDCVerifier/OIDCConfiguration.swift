import Foundation

/// Everything the verifier needs, validated: an instance of this type is a configuration the
/// proxy can start with.
public struct OIDCConfiguration: Sendable {
    public var policy: ClaimPolicy
    public var allowedAlgorithms: Set<JOSEAlgorithm>
    /// PEM bundle trusted for the issuer's TLS instead of the system roots.
    public var caFile: String?
    public var cacheCapacity: Int
    public var refresh: KeyRefreshSchedule.Configuration
    /// The process environment's `HTTPS_PROXY` and `NO_PROXY` (and lower-case forms): the issuer's
    /// discovery, keys and claim sources go through that egress proxy, as Go's clients do.
    /// Empty: every fetch goes direct.
    public var proxyEnvironment: [String: String] = [:]

    /// A startup error, naming the flag at fault.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let flag: String
        public let message: String
        public var description: String { "--\(flag): \(message)" }
    }

    public init(
        issuerURL: String,
        clientID: String,
        usernameClaim: String = "sub",
        usernamePrefix: String? = nil,
        groupsClaim: String? = nil,
        groupsPrefix: String = "",
        requiredClaims: [String: String] = [:],
        signingAlgorithms: [String] = ["RS256"],
        caFile: String? = nil,
        cacheCapacity: Int = 10_000,
        refresh: KeyRefreshSchedule.Configuration = .init()
    ) throws(Invalid) {
        guard !issuerURL.isEmpty else { throw Invalid(flag: "oidc-issuer-url", message: "is required") }
        guard let url = URL(string: issuerURL), url.scheme?.lowercased() == "https", url.host != nil else {
            throw Invalid(flag: "oidc-issuer-url", message: "\"\(issuerURL)\" must be an https:// URL")
        }
        guard url.query == nil, url.fragment == nil else {
            throw Invalid(flag: "oidc-issuer-url", message: "\"\(issuerURL)\" must not have a query or fragment")
        }
        guard !clientID.isEmpty else { throw Invalid(flag: "oidc-client-id", message: "is required") }
        guard !usernameClaim.isEmpty else {
            throw Invalid(flag: "oidc-username-claim", message: "must not be empty")
        }
        do {
            self.allowedAlgorithms = try JOSEAlgorithm.allowList(signingAlgorithms)
        } catch {
            throw Invalid(flag: "oidc-signing-algs", message: error.description)
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw Invalid(flag: "oidc-ca-file", message: "cannot read \(caFile)")
        }
        self.policy = ClaimPolicy(
            issuer: issuerURL, clientID: clientID, usernameClaim: usernameClaim, usernamePrefix: usernamePrefix,
            groupsClaim: groupsClaim, groupsPrefix: groupsPrefix, requiredClaims: requiredClaims)
        self.caFile = caFile
        self.cacheCapacity = cacheCapacity
        self.refresh = refresh
    }
}
