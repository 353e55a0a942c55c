import Crypto
import Foundation
import Synchronization

/// Verified tokens, keyed by the SHA-256 of the token (never the token itself, as the
/// Kubernetes token cache does), bounded in entries, and trusted for `lifetime` at most (10 s,
/// the API server's cache of successful authentications) and never past the token's `exp`.
/// Kept until `exp`, a token went on working after the key that signed it left the issuer's
/// key set (a leaked key, removed), and distributed groups were never fetched again.
final class VerifiedTokenCache: Sendable {
    private struct Entry {
        let user: UserInfo
        let expiry: Date
        /// When the entry stops answering: `expiry`, or `lifetime` after it was verified.
        let validUntil: Date
    }

    private struct Storage {
        var entries: [SHA256Digest: Entry] = [:]
        /// Insertion order, for evicting the oldest entry when full.
        var order: [SHA256Digest] = []
        var nextEviction = 0
    }

    let capacity: Int
    let lifetime: TimeInterval
    private let storage = Mutex(Storage())

    init(capacity: Int, lifetime: TimeInterval = 10) {
        self.capacity = max(1, capacity)
        self.lifetime = lifetime
    }

    static func key(for token: String) -> SHA256Digest {
        var token = token
        return token.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    }

    func lookup(_ key: SHA256Digest, now: Date) -> VerifiedToken? {
        storage.withLock { storage in
            guard let entry = storage.entries[key] else { return nil }
            if now > entry.validUntil {
                storage.entries[key] = nil
                return nil
            }
            return VerifiedToken(user: entry.user, expiresAt: entry.expiry)
        }
    }

    func insert(_ key: SHA256Digest, _ token: VerifiedToken, now: Date) {
        let entry = Entry(
            user: token.user, expiry: token.expiresAt, validUntil: min(token.expiresAt, now + lifetime))
        storage.withLock { storage in
            if storage.entries.updateValue(entry, forKey: key) != nil {
                return
            }
            if storage.order.count < capacity {
                storage.order.append(key)
            } else {
                storage.entries[storage.order[storage.nextEviction]] = nil
                storage.order[storage.nextEviction] = key
                storage.nextEviction = (storage.nextEviction + 1) % capacity
            }
        }
    }

    var count: Int { storage.withLock { $0.entries.count } }
}
