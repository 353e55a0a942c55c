import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import Synchronization

/// A token that passed verification, and until when it may be trusted.
public struct VerifiedToken: Sendable, Equatable {
    public let user: UserInfo
    public let expiresAt: Date

    public init(user: UserInfo, expiresAt: Date) {
        self.user = user
        self.expiresAt = expiresAt
    }
}

/// Verifies OIDC ID tokens as the Kubernetes API server's OIDC authenticator does.
///
/// The rest of the program sees one thing: ``verify(_:)``, a token in, a user or a
/// ``TokenRefusal`` out. Discovery, the JWKS and the cache of verified tokens stay behind it.
/// ``run()`` keeps the issuer's keys loaded (retrying with back-off while the issuer is down).
public final class OIDCVerifier: Sendable {
    public let configuration: OIDCConfiguration
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let client: IssuerClient
    private let ownsHTTPClient: Bool
    private let cache: VerifiedTokenCache
    private let keys: Mutex<KeyState>
    private let foreignIssuers = Mutex<[String: JSONWebKeySet]>([:])
    private let refresher: Mutex<Task<Void, Never>?> = Mutex(nil)

    private struct KeyState {
        var keySet: JSONWebKeySet?
        var discovery: IssuerClient.Discovery?
        var schedule: KeyRefreshSchedule
        var inFlight: Task<Bool, Never>?
        var fetchCount = 0
        var lastFailure: String?
    }

    public init(
        configuration: OIDCConfiguration,
        logger: Logger = Logger(label: "oidc-verifier"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.client = try IssuerClient.make(
            caFile: configuration.caFile, environment: configuration.proxyEnvironment, timeout: .seconds(15))
        self.ownsHTTPClient = true
        self.cache = VerifiedTokenCache(capacity: configuration.cacheCapacity)
        self.keys = Mutex(KeyState(schedule: KeyRefreshSchedule(configuration: configuration.refresh, now: now())))
    }

    /// True once the issuer's keys are loaded: the readiness probe's question.
    public var isReady: Bool { keys.withLock { $0.keySet != nil } }

    /// How many JWKS fetches (scheduled or on demand) this verifier has made.
    public var keySetFetchCount: Int { keys.withLock { $0.fetchCount } }

    /// The `kid`s of the keys loaded from the issuer's JWKS (keys without one are left out), or
    /// nil before any load: what `check-token` names when a token's `kid` is unknown.
    public var keyIDs: [String]? { keys.withLock { $0.keySet.map { $0.keys.compactMap(\.keyID) } } }

    /// Why the last discovery or JWKS fetch failed, or nil after a success.
    public var lastKeyLoadFailure: String? { keys.withLock { $0.lastFailure } }

    /// Number of verified tokens currently cached.
    public var cachedTokenCount: Int { cache.count }

    /// Keeps the issuer's keys loaded until cancelled: first load with back-off while the
    /// issuer is unreachable, then refreshes as `Cache-Control: max-age` (clamped) asks.
    public func run() async {
        while !Task.isCancelled {
            _ = await refreshKeys(onDemand: false)
            let delay = keys.withLock { $0.schedule.delayUntilNextRefresh(now: now()) }
            // Jitter keeps a fleet of proxies from refreshing in lock step.
            let jittered = delay * Double.random(in: 0.9...1.1)
            do {
                try await Task.sleep(for: .milliseconds(Int64(max(jittered, 0.01) * 1000)))
            } catch {
                return
            }
        }
    }

    /// Releases the HTTP client. Call once, after ``run()`` has returned.
    public func shutdown() async {
        if ownsHTTPClient { await client.shutdown() }
    }

    /// Verifies a bearer token: a user, or the reason it is refused. Never throws anything else.
    public func verify(_ token: String) async throws(TokenRefusal) -> VerifiedToken {
        let key = VerifiedTokenCache.key(for: token)
        if let cached = cache.lookup(key, now: now()) { return cached }
        let verified = try await verifyUncached(token)
        cache.insert(key, verified, now: now())
        return verified
    }

    private func verifyUncached(_ token: String) async throws(TokenRefusal) -> VerifiedToken {
        let policy = configuration.policy
        let jws = try CompactJWS(token)
        let algorithm = try allowedAlgorithm(jws.algorithm)
        var claims = try Self.claims(of: jws)
        let expiry = try policy.checkRegisteredClaims(claims, now: now())
        try await checkSignature(jws, algorithm: algorithm)
        if let groupsClaim = policy.groupsClaim {
            try await resolveDistributedClaim(groupsClaim, in: &claims)
        }
        return VerifiedToken(user: try policy.user(from: claims), expiresAt: expiry)
    }

    private func allowedAlgorithm(_ name: String) throws(TokenRefusal) -> JOSEAlgorithm {
        guard let algorithm = JOSEAlgorithm(rawValue: name), configuration.allowedAlgorithms.contains(algorithm) else {
            throw .unsupportedAlgorithm(name, allowed: configuration.allowedAlgorithms.map(\.rawValue).sorted())
        }
        return algorithm
    }

    private static func claims(of jws: CompactJWS) throws(TokenRefusal) -> [String: JSONValue] {
        do {
            return try JSONValue.parseObject(jws.payload)
        } catch {
            throw .claimNotJSON("payload does not parse")
        }
    }

    // MARK: Signatures and keys

    private func checkSignature(_ jws: CompactJWS, algorithm: JOSEAlgorithm) async throws(TokenRefusal) {
        guard let keySet = keys.withLock({ $0.keySet }) else { throw .keysNotLoaded }
        let first = Self.check(jws, algorithm: algorithm, against: keySet)
        switch first {
        case .valid: return
        case .invalid, .noCandidateKey:
            // The issuer may have rotated its keys, or re-keyed under the same `kid` (go-oidc
            // refetches after any failure, not only an unknown `kid`): one rate-limited,
            // coalesced refetch.
            guard await refreshKeys(onDemand: true), let fresh = keys.withLock({ $0.keySet }) else {
                if case .invalid = first { throw .invalidSignature }
                throw jws.keyID.map { .unknownKeyID($0) } ?? .invalidSignature
            }
            switch Self.check(jws, algorithm: algorithm, against: fresh) {
            case .valid: return
            case .invalid: throw .invalidSignature
            case .noCandidateKey: throw jws.keyID.map { .unknownKeyID($0) } ?? .invalidSignature
            }
        }
    }

    private enum SignatureCheck { case valid, invalid, noCandidateKey }

    private static func check(_ jws: CompactJWS, algorithm: JOSEAlgorithm, against keySet: JSONWebKeySet)
        -> SignatureCheck
    {
        let candidates = keySet.candidates(keyID: jws.keyID, algorithm: algorithm)
        for key in candidates where key.isValidSignature(jws.signature, for: jws.signingInput, algorithm: algorithm) {
            return .valid
        }
        if let kid = jws.keyID, keySet.contains(keyID: kid) { return .invalid }
        // A token without `kid` that no cached key verifies may be signed by a key not yet fetched.
        return .noCandidateKey
    }

    /// Fetches the JWKS (after discovery, if needed), coalescing concurrent callers onto one
    /// fetch. On-demand fetches (unknown `kid`) are rate-limited; returns whether keys were loaded.
    @discardableResult
    public func loadKeys() async -> Bool { await refreshKeys(onDemand: false) }

    func refreshKeys(onDemand: Bool) async -> Bool {
        let task: Task<Bool, Never>? = keys.withLock { state in
            if let inFlight = state.inFlight { return inFlight }
            if onDemand && !state.schedule.admitUnknownKeyFetch(now: now()) { return nil }
            let task = Task { await self.fetchKeys() }
            state.inFlight = task
            return task
        }
        guard let task else {
            logger.debug("unknown kid: JWKS refetch rate-limited")
            return false
        }
        return await task.value
    }

    private func fetchKeys() async -> Bool {
        let discovery = keys.withLock { $0.discovery }
        do {
            let resolved: IssuerClient.Discovery
            if let discovery {
                resolved = discovery
            } else {
                resolved = try await client.discover(issuer: configuration.policy.issuer)
            }
            let (keySet, maxAge) = try await client.fetchKeySet(resolved.jwksURL)
            for skipped in keySet.skipped { logger.info("JWKS key skipped", metadata: ["reason": "\(skipped)"]) }
            keys.withLock { state in
                state.discovery = resolved
                state.keySet = keySet
                state.fetchCount += 1
                state.lastFailure = nil
                state.schedule.fetchSucceeded(now: now(), maxAge: maxAge)
                state.inFlight = nil
            }
            logger.debug("JWKS loaded", metadata: ["keys": "\(keySet.keys.count)"])
            return true
        } catch {
            let delay = keys.withLock { state in
                // Start from discovery next time: the issuer may have moved its JWKS.
                state.discovery = nil
                state.fetchCount += 1
                state.lastFailure = "\(error)"
                state.inFlight = nil
                return state.schedule.fetchFailed(now: now())
            }
            logger.warning(
                "OIDC issuer keys could not be loaded; retrying",
                metadata: ["issuer": "\(configuration.policy.issuer)", "error": "\(error)", "retryIn": "\(delay)s"])
            return false
        }
    }

    // MARK: Distributed claims

    /// Resolves a distributed claim (OIDC Core §5.6.2) as the Kubernetes authenticator does:
    /// only when the claim itself is absent, by fetching the source's JWT and verifying it as
    /// an ID token of its own issuer for the same client.
    private func resolveDistributedClaim(_ claim: String, in claims: inout [String: JSONValue])
        async throws(TokenRefusal)
    {
        guard claims[claim] == nil, let names = claims["_claim_names"] else { return }
        guard case .object(let claimToSource) = names else {
            throw .distributedClaim("'_claim_names' is not an object")
        }
        guard let sourceValue = claimToSource[claim] else { return }
        guard case .string(let sourceName) = sourceValue else {
            throw .distributedClaim("'_claim_names' entry for \"\(claim)\" is not a string")
        }
        guard let sourcesValue = claims["_claim_sources"] else { throw .distributedClaim("no '_claim_sources'") }
        guard case .object(let sources) = sourcesValue else {
            throw .distributedClaim("'_claim_sources' is not an object")
        }
        guard case .object(let source)? = sources[sourceName] else {
            throw .distributedClaim("'_claim_names' names source \"\(sourceName)\" missing from '_claim_sources'")
        }
        // An aggregated claim (inline JWT, no endpoint) is not resolved, as in Kubernetes.
        guard let endpoint = source["endpoint"]?.stringValue, !endpoint.isEmpty else { return }
        let jwt: String
        do {
            jwt = try await client.fetchClaimJWT(endpoint, accessToken: source["access_token"]?.stringValue)
        } catch {
            throw .distributedClaim("fetching \"\(claim)\" from \(endpoint): \(error)")
        }
        let distributed: [String: JSONValue]
        do {
            distributed = try await verifyDistributedJWT(jwt)
        } catch {
            throw .distributedClaim("claim JWT from \(endpoint) refused: \(error)")
        }
        guard let value = distributed[claim] else {
            throw .distributedClaim("claim JWT from \(endpoint) does not contain \"\(claim)\"")
        }
        claims[claim] = value
    }

    private func verifyDistributedJWT(_ jwt: String) async throws(TokenRefusal) -> [String: JSONValue] {
        let jws = try CompactJWS(jwt)
        let algorithm = try allowedAlgorithm(jws.algorithm)
        let claims = try Self.claims(of: jws)
        guard let issuer = claims["iss"]?.stringValue else { throw .issuerMismatch(expected: "(any)", actual: nil) }
        var policy = configuration.policy
        policy.issuer = issuer
        _ = try policy.checkRegisteredClaims(claims, now: now())
        if issuer == configuration.policy.issuer {
            try await checkSignature(jws, algorithm: algorithm)
        } else {
            let keySet = try await foreignKeySet(issuer)
            guard case .valid = Self.check(jws, algorithm: algorithm, against: keySet) else { throw .invalidSignature }
        }
        return claims
    }

    /// Keys of another issuer that serves distributed claims, discovered once and kept.
    private func foreignKeySet(_ issuer: String) async throws(TokenRefusal) -> JSONWebKeySet {
        if let known = foreignIssuers.withLock({ $0[issuer] }) { return known }
        guard issuer.lowercased().hasPrefix("https://") else {
            throw .distributedClaim("claim issuer \(issuer) is not https")
        }
        do {
            let discovery = try await client.discover(issuer: issuer)
            let (keySet, _) = try await client.fetchKeySet(discovery.jwksURL)
            foreignIssuers.withLock { known in
                if known.count >= 16 { known.removeAll() }
                known[issuer] = keySet
            }
            return keySet
        } catch {
            throw .distributedClaim("loading keys of claim issuer \(issuer): \(error)")
        }
    }
}
