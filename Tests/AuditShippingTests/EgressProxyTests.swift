import EgressProxy
import Testing

/// Which proxy an audit sink goes through, as Go's `net/http` decides from the environment.
@Suite struct EgressProxyTests {
    static let proxy = ["HTTPS_PROXY": "http://proxy.corp:3128"]
    static let corpProxy = EgressProxy(kind: .http, host: "proxy.corp", port: 3128)

    func choice(_ host: String, port: Int = 443, scheme: String = "https", _ environment: [String: String])
        throws(EgressProxy.Invalid) -> EgressProxy?
    {
        try EgressProxy.forTarget(scheme: scheme, host: host, port: port, environment: environment)
    }

    @Test func httpsTargetsGoThroughHTTPSProxyAndOthersDirectly() throws {
        #expect(try choice("net.banyanops.com", Self.proxy) == Self.corpProxy)
        #expect(try choice("net.banyanops.com", ["https_proxy": "http://proxy.corp:3128"]) == Self.corpProxy)
        #expect(
            try choice("net.banyanops.com", ["HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"])?.host
                == "upper")
        #expect(try choice("net.banyanops.com", [:]) == nil)
        #expect(try choice("net.banyanops.com", ["HTTPS_PROXY": ""]) == nil)
        #expect(try choice("collector.logging.svc", port: 8080, scheme: "http", Self.proxy) == nil)
        #expect(try choice("net.banyanops.com", ["HTTP_PROXY": "http://proxy.corp:3128"]) == nil)
    }

    @Test func loopbackTargetsAreNeverProxied() throws {
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            #expect(try choice(host, Self.proxy) == nil, "\(host)")
        }
    }

    @Test(arguments: [
        // (NO_PROXY, host, port, direct)
        ("*", "net.banyanops.com", 443, true),
        ("banyanops.com", "net.banyanops.com", 443, true),
        ("banyanops.com", "banyanops.com", 443, true),
        (".banyanops.com", "net.banyanops.com", 443, true),
        (".banyanops.com", "banyanops.com", 443, false),
        ("*.banyanops.com", "banyanops.com", 443, false),
        ("*.banyanops.com", "a.b.banyanops.com", 443, true),
        ("ops.com", "net.banyanops.com", 443, false),
        ("other.com, NET.BanyanOps.com ", "net.banyanops.com", 443, true),
        ("banyanops.com:8443", "net.banyanops.com", 443, false),
        ("banyanops.com:443", "net.banyanops.com", 443, true),
        ("10.0.0.0/8", "10.1.2.3", 443, true),
        ("10.0.0.0/8", "11.1.2.3", 443, false),
        ("10.1.2.3", "10.1.2.3", 443, true),
        ("10.1.2.3:443", "10.1.2.3", 443, true),
        ("10.1.2.3:80", "10.1.2.3", 443, false),
        ("fd00::/8", "fd12::1", 443, true),
        ("[fd12::1]:443", "fd12::1", 443, true),
        ("", "net.banyanops.com", 443, false),
    ])
    func noProxyNamesHostsDomainsAndRanges(list: String, host: String, port: Int, direct: Bool) throws {
        let environment = Self.proxy.merging(["NO_PROXY": list]) { $1 }
        #expect(try (choice(host, port: port, environment) == nil) == direct)
        #expect(try (choice(host, port: port, Self.proxy.merging(["no_proxy": list]) { $1 }) == nil) == direct)
    }

    @Test func proxyURLsAreReadAsGoReadsThem() throws {
        #expect(try choice("h.example", ["HTTPS_PROXY": "proxy.corp:3128"]) == Self.corpProxy)
        #expect(try choice("h.example", ["HTTPS_PROXY": "http://proxy.corp"])?.port == 80)
        #expect(
            try choice("h.example", ["HTTPS_PROXY": "http://svc%40corp:p%3Ass@proxy.corp:3128"])
                == EgressProxy(kind: .http, host: "proxy.corp", port: 3128, username: "svc@corp", password: "p:ss"))
        #expect(
            try choice("h.example", ["HTTPS_PROXY": "socks5://socks.corp"])
                == EgressProxy(kind: .socks5, host: "socks.corp", port: 1080))
        let secret = EgressProxy(kind: .http, host: "p", port: 1, username: "u", password: "hunter2")
        #expect(!secret.description.contains("hunter2"))
    }

    @Test func unusableProxySettingsAreErrorsNamingTheVariable() {
        for bad in ["https://proxy.corp:3128", "ftp://proxy.corp", "socks5://u:p@socks.corp", "http://"] {
            do {
                _ = try choice("h.example", ["https_proxy": bad])
                Issue.record("\(bad) was taken")
            } catch {
                #expect(error.variable == "https_proxy", "\(bad)")
            }
        }
    }
}
