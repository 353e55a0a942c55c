import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import ProxyServer

@Suite struct AuditIDIndexingTests {
    func written(_ payload: HTTP2Frame.FramePayload) throws -> HTTP2Frame.FramePayload? {
        let channel = EmbeddedChannel(handler: AuditIDIndexing())
        try channel.writeOutbound(payload)
        defer { _ = try? channel.finish() }
        return try channel.readOutbound(as: HTTP2Frame.FramePayload.self)
    }

    @Test func theAuditIDGoesAsALiteralNobodyIndexesAndTheRestAsBefore() throws {
        let headers = HPACKHeaders([(":status", "200"), ("content-type", "application/json"), ("audit-id", "a1")])
        let out = try #require(try written(.headers(.init(headers: headers))))
        guard case .headers(let sent) = out else {
            Issue.record("not a HEADERS frame: \(out)")
            return
        }
        let indexing = Dictionary(uniqueKeysWithValues: sent.headers.map { ($0.name, $0.indexable) })
        #expect(indexing == [":status": .indexable, "content-type": .indexable, "audit-id": .nonIndexable])
        #expect(sent.headers.first(name: "audit-id") == "a1")
    }

    @Test func framesWithoutAnAuditIDPassUnchanged() throws {
        let headers = HPACKHeaders([(":status", "200")])
        let out = try #require(try written(.headers(.init(headers: headers, endStream: true))))
        guard case .headers(let sent) = out else {
            Issue.record("not a HEADERS frame: \(out)")
            return
        }
        #expect(sent.headers == headers)
        #expect(sent.endStream)
        let body = ByteBuffer(string: "{}")
        let data = try #require(try written(.data(.init(data: .byteBuffer(body)))))
        guard case .data(let sentData) = data, case .byteBuffer(let bytes) = sentData.data else {
            Issue.record("not the DATA frame: \(data)")
            return
        }
        #expect(bytes == body)
    }
}
