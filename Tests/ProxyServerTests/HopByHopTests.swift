import NIOHTTP1
import Testing

@testable import ProxyServer

@Suite struct HopByHopTests {
    @Test func connectionScopedHeadersAreRemoved() {
        let headers = HTTPHeaders([
            ("Connection", "keep-alive, X-Secret"), ("Keep-Alive", "timeout=5"), ("Transfer-Encoding", "chunked"),
            ("TE", "trailers"), ("Upgrade", "h2c"), ("Proxy-Authorization", "Basic x"), ("X-Secret", "1"),
            ("Accept", "application/json"), ("Content-Length", "3"),
        ])
        let stripped = HopByHop.stripped(headers)
        #expect(stripped.map(\.name) == ["Accept", "Content-Length"])
    }

    @Test func namesCompareWithoutRegardToCase() {
        let headers = HTTPHeaders([
            ("CONNECTION", "Keep-Alive, x-Named"), ("X-NAMED", "1"), ("transfer-ENCODING", "chunked"),
            ("Proxy-Connection", "close"), ("TE2", "kept"), ("Content-Type", "application/json"),
        ])
        #expect(HopByHop.stripped(headers).map(\.name) == ["TE2", "Content-Type"])
    }

    @Test func headersWithNothingToStripComeBackUnchanged() {
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("Audit-Id", "x"), ("Trailers", "no")])
        #expect(HopByHop.stripped(headers) == headers)
    }

    @Test func upgradeRequestsKeepConnectionAndUpgrade() {
        let headers = HTTPHeaders([("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"), ("Keep-Alive", "1")])
        #expect(HopByHop.stripped(headers, keepingUpgrade: true).map(\.name) == ["Connection", "Upgrade"])
    }

    @Test func upgradeIsDetectedFromConnectionAndUpgradeHeaders() {
        #expect(HopByHop.isUpgrade(HTTPHeaders([("Connection", "Upgrade"), ("Upgrade", "websocket")])))
        #expect(HopByHop.isUpgrade(HTTPHeaders([("Connection", "keep-alive, upgrade"), ("Upgrade", "SPDY/3.1")])))
        #expect(!HopByHop.isUpgrade(HTTPHeaders([("Upgrade", "websocket")])))
        #expect(!HopByHop.isUpgrade(HTTPHeaders([("Connection", "upgrade")])))
        #expect(!HopByHop.isUpgrade(HTTPHeaders([("Connection", "keep-alive")])))
    }
}
