import NIOCore
import Testing

@testable import ProxyServer

/// Where listeners bind, and how a peer of a dual-stack listener is named.
@Suite struct ListenAddressTests {
    @Test func onlyTheIPv4WildcardBecomesDualStack() {
        #expect(ListenAddress.socketHost(for: "0.0.0.0") == (ListenAddress.hasIPv6 ? "::" : "0.0.0.0"))
        for explicit in ["127.0.0.1", "::", "::1", "10.0.0.7", "localhost"] {
            #expect(ListenAddress.socketHost(for: explicit) == explicit)
        }
    }

    @Test func peersAreNamedAsGoPrintsThem() throws {
        let cases: [(SocketAddress, String)] = [
            (try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 1), "10.1.2.3"),
            (try SocketAddress(ipAddress: "127.0.0.1", port: 1), "127.0.0.1"),
            (try SocketAddress(ipAddress: "fd00:0:0::2", port: 1), "fd00::2"),
            (try SocketAddress(ipAddress: "::1", port: 1), "::1"),
        ]
        for (address, expected) in cases {
            #expect(ListenAddress.clientIP(of: address) == expected)
        }
        #expect(ListenAddress.clientIP(of: nil) == nil)
    }
}
