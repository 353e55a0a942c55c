import IPAddresses
import Testing

@testable import AuditBatcher

@Suite("Source IPs as the API server lists them")
struct SourceIPsTests {
    @Test(
        arguments: [
            // (X-Forwarded-For, X-Real-Ip, peer) → sourceIPs
            (nil, nil, "10.0.0.5", ["10.0.0.5"]),
            (nil, nil, nil, []),
            ("203.0.113.7", nil, "10.0.0.5", ["203.0.113.7", "10.0.0.5"]),
            // Every valid address of the chain, in order; invalid entries skipped; spaces trimmed.
            (" 203.0.113.7 ,bogus, 198.51.100.1,", nil, "10.0.0.5", ["203.0.113.7", "198.51.100.1", "10.0.0.5"]),
            // The peer is not repeated when it is the chain's last address.
            ("203.0.113.7, 10.0.0.5", nil, "10.0.0.5", ["203.0.113.7", "10.0.0.5"]),
            // But it is when it appears earlier only.
            ("10.0.0.5, 203.0.113.7", nil, "10.0.0.5", ["10.0.0.5", "203.0.113.7", "10.0.0.5"]),
            // X-Real-Ip after the chain, unless already in it; not trimmed.
            ("203.0.113.7", "198.51.100.9", "10.0.0.5", ["203.0.113.7", "198.51.100.9", "10.0.0.5"]),
            ("203.0.113.7", "203.0.113.7", "10.0.0.5", ["203.0.113.7", "10.0.0.5"]),
            (nil, " 198.51.100.9", "10.0.0.5", ["10.0.0.5"]),
            (nil, "10.0.0.5", "10.0.0.5", ["10.0.0.5"]),
            // Addresses written as Go writes them.
            ("010.000.001.002", nil, "::ffff:10.0.0.5", ["10.0.1.2", "10.0.0.5"]),
            ("2001:DB8:0:0:0:0:0:1", nil, "::1", ["2001:db8::1", "::1"]),
            ("fe80::1%eth0, ::ffff:1.2.3.4", nil, "10.0.0.5", ["1.2.3.4", "10.0.0.5"]),
            (nil, nil, "::ffff:127.0.0.1", ["127.0.0.1"]),
        ] as [(String?, String?, String?, [String])])
    func derivation(forwardedFor: String?, realIP: String?, peer: String?, expected: [String]) {
        #expect(SourceIPs.derive(forwardedFor: forwardedFor, realIP: realIP, peer: peer) == expected)
    }

    @Test(arguments: [
        ("1.2.3.4", "1.2.3.4"),
        ("255.255.255.255", "255.255.255.255"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
        ("::1.2.3.4", "::102:304"),
        ("::ffff:0102:0304", "1.2.3.4"),
        ("abcd:ef01:2345:6789:ABCD:EF01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"),
    ])
    func addressesAreWrittenAsGoWritesThem(text: String, written: String) throws {
        #expect(try #require(IPAddress(text)).description == written)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "1..2.3", "a.b.c.d", ":", ":::", "1:::2", ":1::",
        "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", "12345::", "::g", "1:2:3:4:5:6:7:8:", "::1.2.3.4:5",
        "fe80::1%eth0", "+1::", "1.2.3.4 ",
    ])
    func notAddresses(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func aLongUserAgentIsCutAt1024BytesAndMarked() {
        let exact = String(repeating: "a", count: 1024)
        #expect(AuditEvent.boundedUserAgent(exact) == exact)
        let long = exact + "bc"
        #expect(AuditEvent.boundedUserAgent(long) == exact + "...TRUNCATED")
    }
}
