import Foundation
import Testing

@testable import OIDCVerifier

/// How long a verified token is trusted without being verified again.
@Suite struct VerifiedTokenCacheTests {
    let start = Date(timeIntervalSince1970: 1_900_000_000)
    let token = VerifiedToken(
        user: UserInfo(username: "alice"), expiresAt: Date(timeIntervalSince1970: 1_900_000_000 + 8 * 3600))

    /// Ten seconds at most, as the API server caches a successful authentication: a token
    /// whose key left the issuer's key set, or whose distributed groups changed, is checked
    /// afresh within ten seconds rather than trusted until its `exp` hours later.
    @Test func anEntryAnswersForTenSecondsAtMost() {
        let cache = VerifiedTokenCache(capacity: 10)
        let key = VerifiedTokenCache.key(for: "t")
        cache.insert(key, token, now: start)
        #expect(cache.lookup(key, now: start + 9.9) == token)
        #expect(cache.lookup(key, now: start + 10.1) == nil)
        #expect(cache.count == 0, "an entry past its time is let go")
    }

    @Test func neverPastTheTokensExpiry() {
        let cache = VerifiedTokenCache(capacity: 10)
        let key = VerifiedTokenCache.key(for: "t")
        let soon = VerifiedToken(user: token.user, expiresAt: start + 3)
        cache.insert(key, soon, now: start)
        #expect(cache.lookup(key, now: start + 2) == soon)
        #expect(cache.lookup(key, now: start + 4) == nil)
    }
}
