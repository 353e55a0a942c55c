import Crypto
import Foundation
import Synchronization

/// Verified tokens, keyed by the SHA-256 of the token (never the token itself, as the
/// Kubernetes token cache does), bounded in entries and never trusted past the token's `exp`.
final class VerifiedTokenCache: Sendable {
    private struct Entry {
        let user: UserInfo
        let expiry: Date
    }

    private struct Storage {
        var entries: [SHA256Digest: Entry] = [:]
        /// Insertion order, for evicting the oldest entry when full.
        var order: [SHA256Digest] = []
        var nextEviction = 0
    }

    let capacity: Int
    private let storage = Mutex(Storage())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    static func key(for token: String) -> SHA256Digest {
        var token = token
        return token.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    }

    func lookup(_ key: SHA256Digest, now: Date) -> VerifiedToken? {
        storage.withLock { storage in
            guard let entry = storage.entries[key] else { return nil }
            if now > entry.expiry {
                storage.entries[key] = nil
                return nil
            }
            return VerifiedToken(user: entry.user, expiresAt: entry.expiry)
        }
    }

    func insert(_ key: SHA256Digest, _ token: VerifiedToken) {
        storage.withLock { storage in
            if storage.entries.updateValue(Entry(user: token.user, expiry: token.expiresAt), forKey: key) != nil {
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
