import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import ProxyServer

@Suite struct AuditIDHeaderTests {
    /// Writes `payloads` through a handler holding `pending`; returns what came out.
    func written(_ payloads: [HTTP2Frame.FramePayload], pending: String?) throws -> [HTTP2Frame.FramePayload] {
        let handler = AuditIDHeader()
        handler.pending = pending
        let channel = EmbeddedChannel(handler: handler)
        defer { _ = try? channel.finish() }
        for payload in payloads { try channel.writeOutbound(payload) }
        var out: [HTTP2Frame.FramePayload] = []
        while let payload = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) { out.append(payload) }
        return out
    }

    func headers(_ payload: HTTP2Frame.FramePayload?) -> HTTP2Frame.FramePayload.Headers? {
        guard case .headers(let headers)? = payload else { return nil }
        return headers
    }

    @Test func theResponseHeadGetsTheAuditIDAsALiteralNobodyIndexesAndTheRestAsBefore() throws {
        let head = HPACKHeaders([(":status", "200"), ("content-type", "application/json")])
        let out = try written([.headers(.init(headers: head))], pending: "a1")
        let sent = try #require(headers(out.first))
        let indexing = Dictionary(uniqueKeysWithValues: sent.headers.map { ($0.name, $0.indexable) })
        #expect(indexing == [":status": .indexable, "content-type": .indexable, "audit-id": .nonIndexable])
        #expect(sent.headers.first(name: "audit-id") == "a1")
        #expect(sent.headers.count == 3)
    }

    /// The API server names the exchange too (it echoes the ID the proxy sent): one is sent on.
    @Test func theAPIServersAuditIDIsReplacedNotRepeated() throws {
        let head = HPACKHeaders([(":status", "200"), ("audit-id", "from-api-server"), ("content-type", "a/b")])
        let sent = try #require(headers(try written([.headers(.init(headers: head))], pending: "a3").first))
        #expect(sent.headers["audit-id"] == ["a3"])
        #expect(sent.headers.map(\.name) == [":status", "content-type", "audit-id"])
    }

    /// Only the final head carries it: not a `100 Continue` before it, not the trailers after.
    @Test func informationalHeadsAndTrailersGoUnchanged() throws {
        let informational = HPACKHeaders([(":status", "100")])
        let final = HPACKHeaders([(":status", "201")])
        let trailers = HPACKHeaders([("grpc-status", "0")])
        let body = ByteBuffer(string: "{}")
        let out = try written(
            [
                .headers(.init(headers: informational)), .headers(.init(headers: final)),
                .data(.init(data: .byteBuffer(body))), .headers(.init(headers: trailers, endStream: true)),
            ], pending: "a2")
        #expect(out.count == 4)
        #expect(headers(out[0])?.headers == informational)
        #expect(headers(out[1])?.headers.first(name: "audit-id") == "a2")
        guard case .data(let data) = out[2], case .byteBuffer(let bytes) = data.data else {
            Issue.record("not the DATA frame: \(out[2])")
            return
        }
        #expect(bytes == body)
        #expect(headers(out[3])?.headers == trailers)
        #expect(headers(out[3])?.endStream == true)
    }

    @Test func withoutAnAuditIDFramesPassUnchanged() throws {
        let head = HPACKHeaders([(":status", "200")])
        let out = try written([.headers(.init(headers: head, endStream: true))], pending: nil)
        #expect(headers(out.first)?.headers == head)
        #expect(headers(out.first)?.endStream == true)
    }
}
