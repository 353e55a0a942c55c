import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Audit IDs as the API server makes them: a random (version 4) UUID in lower case, such as
/// `8e2c4a6f-0d1b-4c3e-9f7a-2b5d6e8f0a1c`. Formatted straight from the random bits: every
/// audited request needs one, and Foundation's `UUID().uuidString.lowercased()` cost two
/// strings and a case conversion.
public enum AuditID {
    public static func random() -> String {
        let bits = pool.withLock { $0.take() }
        return make(high: bits.high, low: bits.low)
    }

    /// Random bits fetched 4 KiB at a time: one getrandom(2) per 256 IDs rather than per request.
    /// An audit ID is not a secret (it is sent back in every response), only unpredictable.
    private static let pool = Mutex(RandomPool())

    private struct RandomPool {
        private var words = [UInt64](repeating: 0, count: 512)
        private var next = 512

        mutating func take() -> (high: UInt64, low: UInt64) {
            if next + 2 > words.count {
                refill()
                next = 0
            }
            defer { next += 2 }
            return (words[next], words[next + 1])
        }

        private mutating func refill() {
            #if canImport(Glibc)
                words.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
            #else
                var generator = SystemRandomNumberGenerator()
                for index in words.indices { words[index] = generator.next() }
            #endif
        }
    }

    /// The ID for 128 given bits, with the version and variant bits set (for tests).
    static func make(high: UInt64, low: UInt64) -> String {
        let high = (high & ~0xF000) | 0x4000  // version 4 in bits 12–15 of the third group
        let low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // RFC 4122 variant, 10xx
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            digits.withUTF8Buffer { hex in
                var index = 0
                func put(_ value: UInt64, nibbles: Int) {
                    for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                        buffer[index] = hex[Int((value >> UInt64(shift)) & 0xF)]
                        index += 1
                    }
                }
                func dash() {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                put(high >> 32, nibbles: 8)
                dash()
                put(high >> 16, nibbles: 4)
                dash()
                put(high, nibbles: 4)
                dash()
                put(low >> 48, nibbles: 4)
                dash()
                put(low, nibbles: 12)
            }
            return 36
        }
    }
}
