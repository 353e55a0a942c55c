import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing

@testable import ProxyServer

@Suite struct HTTP2ResponseHeadTests {
    func head(_ code: Int, _ headers: [(String, String)]) -> HTTPResponseHead {
        HTTPResponseHead(version: .http2, status: .init(statusCode: code), headers: HTTPHeaders(headers))
    }

    @Test func theHeadGetsTheAuditIDAsALiteralNobodyIndexesAndTheRestAsTheCodecWouldConvertIt() throws {
        let block = try #require(
            HTTP2ResponseHead.block(
                for: head(200, [("Content-Type", "application/json"), ("Content-Length", "2")]), auditID: "a1"))
        #expect(block.map(\.name) == [":status", "content-type", "content-length", "audit-id"])
        #expect(block.map(\.value) == ["200", "application/json", "2", "a1"])
        #expect(block.map(\.indexable) == [.indexable, .indexable, .indexable, .nonIndexable])
    }

    /// What swift-nio-http2's codec sends for the same head, with the ID added: the same block.
    @Test(arguments: [
        [("Content-Type", "a/b")],
        [("Connection", "keep-alive"), ("Keep-Alive", "5"), ("Date", "d")],
        [("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Proxy-Connection", "x"), ("Warning", "w")],
        [],
    ])
    func matchesTheCodecsConversion(headers: [(String, String)]) throws {
        let converted = HPACKHeaders(
            httpHeaders: HTTPHeaders([(":status", "404")] + headers), normalizeHTTPHeaders: true)
        var expected = converted
        expected.add(name: "audit-id", value: "a2", indexing: .nonIndexable)
        let block = try #require(HTTP2ResponseHead.block(for: head(404, headers), auditID: "a2"))
        #expect(block == expected)
        #expect(!block.contains(name: "connection"))
        #expect(!block.contains(name: "transfer-encoding") && !block.contains(name: "keep-alive"))
    }

    /// The API server names the exchange too (it echoes the ID the proxy sent): one is sent on.
    @Test(arguments: ["Audit-Id", "audit-id", "AUDIT-ID"])
    func theAPIServersAuditIDIsReplacedNotRepeated(name: String) throws {
        let block = try #require(
            HTTP2ResponseHead.block(
                for: head(200, [(name, "from-api-server"), ("Content-Type", "a/b")]), auditID: "a3"))
        #expect(block["audit-id"] == ["a3"])
        #expect(block.map(\.name) == [":status", "content-type", "audit-id"])
    }

    /// Only the final head carries it: a `100 Continue` or `103 Early Hints` goes through the codec.
    @Test(arguments: [100, 101, 103, 199])
    func informationalHeadsAreLeftToTheCodec(code: Int) {
        #expect(HTTP2ResponseHead.block(for: head(code, []), auditID: "a4") == nil)
    }

    @Test(arguments: [200, 204, 304, 401, 502])
    func everyFinalHeadCarriesIt(code: Int) throws {
        let block = try #require(HTTP2ResponseHead.block(for: head(code, []), auditID: "a5"))
        #expect(block.first(name: ":status") == String(code))
        #expect(block.first(name: "audit-id") == "a5")
    }
}
