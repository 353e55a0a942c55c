import Testing

@testable import AuditBatcher

/// The spool's in-memory tail against the plainest model of it (a list of payloads, evicted from
/// the front past the byte bound), with chunks so small that payloads keep starting new ones and
/// eviction keeps dropping them.
@Suite struct SpoolTailTests {
    struct Model {
        let maxBytes: Int
        var firstSequence: UInt64
        var payloads: [[UInt8]] = []

        mutating func append(_ payload: [UInt8], sequence: UInt64) {
            if sequence != firstSequence + UInt64(payloads.count) {
                payloads = []
                firstSequence = sequence
            }
            payloads.append(payload)
            while payloads.reduce(0, { $0 + $1.count }) > maxBytes, !payloads.isEmpty {
                payloads.removeFirst()
                firstSequence += 1
            }
        }

        mutating func remove(through sequence: UInt64) {
            while !payloads.isEmpty, firstSequence <= sequence {
                payloads.removeFirst()
                firstSequence += 1
            }
            if payloads.isEmpty, firstSequence <= sequence { firstSequence = sequence + 1 }
        }

        func payloads(from sequence: UInt64, limit: Int) -> [(sequence: UInt64, payload: [UInt8])]? {
            guard sequence >= firstSequence, sequence < firstSequence + UInt64(payloads.count) else { return nil }
            let start = Int(sequence - firstSequence)
            return (start..<min(payloads.count, start + limit)).map { (firstSequence + UInt64($0), payloads[$0]) }
        }
    }

    @Test(arguments: [
        (maxBytes: 300, chunkBytes: 64), (maxBytes: 2_000, chunkBytes: 100), (maxBytes: 50, chunkBytes: 1),
    ])
    func matchesTheModelThroughAppendsEvictionsAndRemovals(maxBytes: Int, chunkBytes: Int) {
        var tail = SpoolTail(maxBytes: maxBytes, nextSequence: 1, chunkBytes: chunkBytes)
        var model = Model(maxBytes: maxBytes, firstSequence: 1)
        var generator = SystemRandomNumberGenerator()
        var next: UInt64 = 1
        for step in 0..<3_000 {
            switch Int.random(in: 0..<20, using: &generator) {
            case 0..<12:
                let size = Int.random(in: 0...80, using: &generator)
                let payload = (0..<size).map { UInt8(truncatingIfNeeded: Int(next) &* 31 &+ $0) }
                tail.append(payload, sequence: next)
                model.append(payload, sequence: next)
                next += 1
            case 12..<18:
                let through = model.firstSequence + UInt64.random(in: 0...4, using: &generator)
                tail.remove(through: through)
                model.remove(through: through)
            case 18:
                // A gap: the tail starts afresh.
                next += 3
            default:
                break
            }
            let from = model.firstSequence + UInt64.random(in: 0...3, using: &generator) - 1
            let limit = Int.random(in: 0...10, using: &generator)
            let read = tail.payloads(from: from, limit: limit)
            let expected = model.payloads(from: from, limit: limit)
            #expect(read?.map(\.sequence) == expected?.map(\.sequence), "step \(step)")
            #expect(read?.map(\.payload) == expected?.map(\.payload), "step \(step)")
            #expect(tail.count == model.payloads.count, "step \(step)")
            #expect(tail.bytes == model.payloads.reduce(0) { $0 + $1.count }, "step \(step)")
        }
    }
}
