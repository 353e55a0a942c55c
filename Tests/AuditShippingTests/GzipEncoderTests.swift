import CompressNIO
import NIOCore
import Testing

@testable import AuditShipping

/// Batch bodies gzip-compressed by the one stream a sink keeps: each reads back whole, as a
/// receiver's gunzip reads it, body after body.
@Suite struct GzipEncoderTests {
    static func body(events: Int, seed: Int) -> [UInt8] {
        let items = (0..<events).map { index in
            #"{"kind":"Event","auditID":"\#(seed)-\#(index)","requestURI":"/api/v1/namespaces/ns-\#(index % 7)/pods"}"#
        }
        return Array((#"{"kind":"EventList","items":["# + items.joined(separator: ",") + "]}").utf8)
    }

    static func gunzip(_ buffer: ByteBuffer) throws -> [UInt8] {
        var compressed = buffer
        let plain = try compressed.decompress(with: .gzip())
        return Array(plain.readableBytesView)
    }

    @Test func bodiesReadBackWholeOneAfterAnother() throws {
        let encoder = try GzipEncoder()
        // Large and small, and the large one again: the stream is reset between them.
        for (events, seed) in [(400, 1), (30, 2), (2_000, 3), (400, 1)] {
            let body = Self.body(events: events, seed: seed)
            let compressed = try encoder.compress(body)
            #expect(compressed.readableBytes < body.count / 3)
            #expect(Array(compressed.readableBytesView.prefix(2)) == [0x1F, 0x8B], "a gzip header")
            #expect(try Self.gunzip(compressed) == body)
        }
    }

    /// Bytes that do not compress at all still fit the one call's output.
    @Test func incompressibleBytesFit() throws {
        var generator = SystemRandomNumberGenerator()
        let body = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let compressed = try GzipEncoder().compress(body)
        #expect(try Self.gunzip(compressed) == body)
    }

    @Test func concurrentBodiesDoNotMix() async throws {
        let encoder = try GzipEncoder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for seed in 0..<8 {
                group.addTask {
                    let body = Self.body(events: 300, seed: seed)
                    for _ in 0..<5 {
                        let decoded = try Self.gunzip(try encoder.compress(body))
                        #expect(decoded == body)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
