import Foundation
import OIDCVerifier
import TestSupport
import Testing

/// Discovery, JWKS refresh and rotation against a real issuer.
@Suite struct KeyRotationTests {
    @Test func tokenSignedByANewKeyIsAcceptedAfterRotationWithoutRestart() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let accepted10 = try await verifier.accepted(issuer.mint(issuer.claims()))
            #expect(accepted10.user.username == "alice-id")
            let next = SigningKey.rsa("key-2")
            issuer.rotate(to: [next])
            let token = issuer.mint(issuer.claims(subject: "bob"), key: next)
            let accepted14 = try await verifier.accepted(token)
            #expect(accepted14.user.username == "bob")
            #expect(issuer.jwksFetches == 2)
        }
        try await issuer.stop()
    }

    @Test func forgedKidFloodCostsTheIssuerABoundedNumberOfFetches() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let before = issuer.jwksFetches
            let forger = SigningKey.rsa("unused")
            let tokens = (0..<200).map { index in
                TokenMinter.mint(
                    issuer.claims(subject: "m\(index)"),
                    key: SigningKey(keyID: "forged-\(index)", material: forger.material))
            }
            let refusals = await withTaskGroup(of: TokenRefusal?.self) { group in
                for token in tokens { group.addTask { await verifier.refusal(token) } }
                var all: [TokenRefusal?] = []
                for await refusal in group { all.append(refusal) }
                return all
            }
            #expect(refusals.allSatisfy { if case .unknownKeyID? = $0 { true } else { false } })
            // Burst of 3 from the token bucket; concurrent misses coalesce onto in-flight fetches.
            let extra = issuer.jwksFetches - before
            #expect(extra >= 1 && extra <= 3, "forged kids caused \(extra) JWKS fetches")
        }
        try await issuer.stop()
    }

    /// Redirects are followed, but never off https: keys that came over plain http could have
    /// been put there by anyone on the way, and would let them mint any identity.
    @Test func keysRedirectedToPlainHTTPAreRefused() async throws {
        let issuer = try await TestIssuer.start()
        let keys: [String: JSONValue] = ["keys": .array(issuer.keys.map { .object($0.jwk) })]
        let body = String(decoding: try JSONEncoder().encode(keys), as: UTF8.self)
        let plain = try await TestHTTPServer.start(tls: nil) { _ in .json(body) }
        issuer.redirectKeys(to: plain.baseURL + "/keys")
        try await withVerifier(issuer) { verifier in
            #expect(!verifier.isReady)
            #expect(await verifier.refusal(issuer.mint(issuer.claims())) == .keysNotLoaded)
        }
        // Over https the same redirect is followed.
        issuer.redirectKeys(to: issuer.url + "/keys-moved")
        try await withVerifier(issuer) { verifier in
            #expect(verifier.isReady)
        }
        try await plain.stop()
        try await issuer.stop()
    }

    @Test func discoveryIssuerMustMatchByteForByte() async throws {
        let issuer = try await TestIssuer.start()
        issuer.advertiseIssuer(issuer.url + "/")
        try await withVerifier(issuer) { verifier in
            #expect(!verifier.isReady)
            #expect(await verifier.refusal(issuer.mint(issuer.claims())) == .keysNotLoaded)
            #expect(issuer.jwksFetches == 0)
        }
        try await issuer.stop()
    }

    @Test func issuerDownThenUpLoadsKeysWithBackOff() async throws {
        let issuer = try await TestIssuer.start()
        issuer.setAvailable(false)
        var refresh = KeyRefreshSchedule.Configuration()
        refresh.initialBackoff = 0.05
        refresh.maximumBackoff = 0.2
        try await withVerifier(issuer, refresh: refresh, loadKeys: false) { verifier in
            let runner = Task { await verifier.run() }
            try await Task.sleep(for: .milliseconds(400))
            #expect(!verifier.isReady)
            #expect(await verifier.refusal(issuer.mint(issuer.claims())) == .keysNotLoaded)
            let failedAttempts = issuer.discoveryFetches
            #expect(failedAttempts == 0)  // 503 answers are not counted as served documents
            issuer.setAvailable(true)
            var waited = 0
            while !verifier.isReady && waited < 100 {
                try await Task.sleep(for: .milliseconds(50))
                waited += 1
            }
            #expect(verifier.isReady)
            let accepted73 = try await verifier.accepted(issuer.mint(issuer.claims()))
            #expect(accepted73.user.username == "alice-id")
            runner.cancel()
            await runner.value
        }
        try await issuer.stop()
    }

    @Test func cacheControlMaxAgeDrivesScheduledRefresh() async throws {
        let issuer = try await TestIssuer.start()
        issuer.setCacheControl("public, max-age=0")
        var refresh = KeyRefreshSchedule.Configuration()
        refresh.minimumRefreshInterval = 0.2
        try await withVerifier(issuer, refresh: refresh, loadKeys: false) { verifier in
            let started = ContinuousClock.now
            let runner = Task { await verifier.run() }
            while issuer.jwksFetches < 4 && ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(20))
            }
            runner.cancel()
            await runner.value
            let elapsed = ContinuousClock.now - started
            let fetches = issuer.jwksFetches
            // max-age=0 is clamped to the 0.2 s floor: the keys are refreshed again and again,
            // but never faster than the floor allows (no busy loop).
            #expect(fetches >= 4, "only \(fetches) JWKS fetches in \(elapsed)")
            let ceiling = Int(elapsed / .milliseconds(200)) + 2
            #expect(fetches <= ceiling, "\(fetches) fetches in \(elapsed) is faster than the 0.2 s floor")
        }
        try await issuer.stop()
    }

    @Test func removedKeyStopsVerifyingAfterScheduledRefresh() async throws {
        let old = SigningKey.rsa("old")
        let issuer = try await TestIssuer.start(keys: [old])
        try await withVerifier(issuer) { verifier in
            let fresh = SigningKey.rsa("new")
            issuer.rotate(to: [fresh])
            _ = await verifier.loadKeys()
            #expect(await verifier.refusal(issuer.mint(issuer.claims(), key: old)) != nil)
        }
        try await issuer.stop()
    }

    /// An issuer that re-keys under the same `kid`: a token signed by the new key fails against
    /// the cached one, and, as go-oidc does after any verification failure, the keys are
    /// fetched again (rate-limited) rather than the token refused until the next scheduled
    /// refresh, up to an hour later.
    @Test func aNewKeyUnderTheSameKidIsFetchedWhenASignatureFails() async throws {
        let issuer = try await TestIssuer.start(keys: [.rsa("same")])
        try await withVerifier(issuer) { verifier in
            _ = try await verifier.verify(issuer.mint(issuer.claims()))
            let fetches = issuer.jwksFetches
            let rekeyed = SigningKey.rsa("same")
            issuer.rotate(to: [rekeyed])
            let token = issuer.mint(issuer.claims(subject: "bob-id"), key: rekeyed)
            #expect(try await verifier.accepted(token).user.username == "bob-id")
            #expect(issuer.jwksFetches == fetches + 1)
            // A signature no key makes valid is still refused.
            let forged = issuer.mint(issuer.claims(subject: "mallory"), key: SigningKey.rsa("same"))
            guard case .invalidSignature? = await verifier.refusal(forged) else {
                Issue.record("a token signed by no key of the issuer's was not refused as such")
                return
            }
        }
        try await issuer.stop()
    }

    /// For ten seconds at most (``VerifiedTokenCacheTests``), and never past `exp`.
    @Test func verifiedTokensAreCachedBrieflyAndNeverPastExpiry() async throws {
        let issuer = try await TestIssuer.start()
        try await withVerifier(issuer) { verifier in
            let token = issuer.mint(issuer.claims())
            _ = try await verifier.verify(token)
            #expect(verifier.cachedTokenCount == 1)
            // Served from the cache, within its ten seconds: the issuer taking its keys away does
            // not matter yet (as on the API server, whose cache keeps a success as long).
            issuer.rotate(to: [])
            _ = await verifier.loadKeys()
            let accepted117 = try await verifier.accepted(token)
            #expect(accepted117.user.username == "alice-id")
            // A token that expires in one second is not served from the cache after it expired.
            let keysBack = SigningKey.rsa("back")
            issuer.rotate(to: [keysBack])
            _ = await verifier.loadKeys()
            let soon = (Date().timeIntervalSince1970 + 1).rounded(.up)
            let shortLived = issuer.mint(issuer.claims(extra: ["exp": .number(soon)]), key: keysBack)
            _ = try await verifier.verify(shortLived)
            try await Task.sleep(for: .milliseconds(2100))
            guard case .expired? = await verifier.refusal(shortLived) else {
                Issue.record("an expired token was served from the cache")
                return
            }
        }
        try await issuer.stop()
    }
}
