import AsyncHTTPClient
import Foundation
import IPAddresses

/// The proxy an audit sink's connections go through, chosen from the environment as Go's
/// `net/http` chooses it (`golang.org/x/net/http/httpproxy`): a cluster whose egress goes
/// through a proxy sets `HTTPS_PROXY` and `NO_PROXY` on the pod, and Banyan's API is outside.
///
/// Only `https` sinks are proxied, through an HTTP `CONNECT` tunnel or SOCKS5: a plain-http
/// sink is an in-cluster one (the audit sidecar, a collector), reached directly.
public struct EgressProxy: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// An HTTP proxy, asked for a `CONNECT` tunnel.
        case http
        case socks5
    }

    public var kind: Kind
    public var host: String
    public var port: Int
    /// From the proxy URL's user information, for `Proxy-Authorization: Basic`.
    public var username: String?
    public var password: String?

    public init(kind: Kind, host: String, port: Int, username: String? = nil, password: String? = nil) {
        self.kind = kind
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    /// Where the proxy is, for a log line: never its password.
    public var description: String {
        "\(kind == .http ? "http" : "socks5")://\(username.map { "\($0)@" } ?? "")\(host):\(port)"
    }

    /// The proxy as async-http-client takes it.
    public var asyncHTTPClientProxy: HTTPClient.Configuration.Proxy {
        switch kind {
        case .http:
            .server(
                host: host, port: port, authorization: username.map { .basic(username: $0, password: password ?? "") })
        case .socks5:
            .socksServer(host: host, port: port)
        }
    }

    /// A proxy setting that cannot be used, named by its variable.
    public struct Invalid: Error, CustomStringConvertible {
        public let variable: String
        public let reason: String
        public var description: String { "\(variable): \(reason)" }
    }

    /// The proxy for `https://host:port` under `environment`, or nil to connect directly: no
    /// `HTTPS_PROXY` (or `https_proxy`), a loopback target, or one `NO_PROXY` (or `no_proxy`)
    /// names. Any other scheme is reached directly.
    public static func forTarget(
        scheme: String, host: String, port: Int, environment: [String: String]
    ) throws(Invalid) -> EgressProxy? {
        guard scheme.lowercased() == "https", let proxy = try configured(in: environment) else { return nil }
        let target = Self.unbracketed(host.lowercased())
        if target == "localhost" || Self.isLoopback(target) { return nil }
        let (_, exclusions) = Self.variable(["NO_PROXY", "no_proxy"], in: environment)
        if let exclusions, Self.excludes(exclusions, host: target, port: port) { return nil }
        return proxy
    }

    /// ``forTarget(scheme:host:port:environment:)`` for a URL (its port, else the scheme's);
    /// nil for one without a scheme or host.
    public static func forURL(_ url: String, environment: [String: String]) throws(Invalid) -> EgressProxy? {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            let host = components.host
        else { return nil }
        return try forTarget(
            scheme: scheme, host: host, port: components.port ?? (scheme.lowercased() == "http" ? 80 : 443),
            environment: environment)
    }

    /// The proxy `HTTPS_PROXY` (or `https_proxy`) names, whatever the target; nil when unset.
    public static func configured(in environment: [String: String]) throws(Invalid) -> EgressProxy? {
        let (variable, setting) = Self.variable(["HTTPS_PROXY", "https_proxy"], in: environment)
        guard let setting, !setting.isEmpty else { return nil }
        return try Self.parse(setting, variable: variable)
    }

    /// The first of `names` that is set, and its value.
    private static func variable(_ names: [String], in environment: [String: String]) -> (String, String?) {
        for name in names {
            if let value = environment[name] { return (name, value) }
        }
        return (names[0], nil)
    }

    /// `http://[user:password@]host[:port]`, `socks5://host[:port]`, or a bare `host[:port]` (taken
    /// as http, as Go takes it).
    public static func parse(_ setting: String, variable: String) throws(Invalid) -> EgressProxy {
        let text = setting.trimmingCharacters(in: .whitespaces)
        let components = URLComponents(string: text.contains("://") ? text : "http://" + text)
        guard let components, let scheme = components.scheme?.lowercased(), let host = components.host,
            !host.isEmpty
        else {
            throw Invalid(variable: variable, reason: "\"\(Self.withoutPassword(text))\" is not a proxy URL")
        }
        let kind: Kind
        switch scheme {
        case "http": kind = .http
        case "socks5", "socks5h": kind = .socks5
        default:
            throw Invalid(
                variable: variable,
                reason: "proxy scheme \"\(scheme)\" is not supported (use http:// for a CONNECT proxy, or socks5://)")
        }
        if kind == .socks5 && components.user != nil {
            throw Invalid(variable: variable, reason: "a SOCKS5 proxy with a user name is not supported")
        }
        return EgressProxy(
            kind: kind, host: Self.unbracketed(host), port: components.port ?? (kind == .http ? 80 : 1080),
            username: components.user?.removingPercentEncoding ?? components.user,
            password: components.password?.removingPercentEncoding ?? components.password)
    }

    /// Whether a `NO_PROXY` list names the target: `*` names every host; an entry is an IP
    /// address, a CIDR range, or a domain with an optional port. `example.com` names it and its
    /// subdomains, `.example.com` and `*.example.com` its subdomains only.
    static func excludes(_ list: String, host: String, port: Int) -> Bool {
        let address = IPAddress(host)
        for rawEntry in list.split(separator: ",") {
            var entry = rawEntry.trimmingCharacters(in: .whitespaces).lowercased()
            if entry.isEmpty { continue }
            if entry == "*" { return true }
            if let slash = entry.firstIndex(of: "/") {
                if let address, let range = CIDRRange(entry[..<slash], entry[entry.index(after: slash)...]),
                    range.contains(address)
                {
                    return true
                }
                continue
            }
            var entryPort: Int?
            if let split = Self.splitPort(entry) {
                entry = split.host
                entryPort = split.port
            }
            entry = Self.unbracketed(entry)
            if let entryAddress = IPAddress(entry) {
                if entryAddress == address && (entryPort == nil || entryPort == port) { return true }
                continue
            }
            if entry.hasPrefix("*.") { entry.removeFirst() }
            let matchesHostItself = !entry.hasPrefix(".")
            if matchesHostItself { entry = "." + entry }
            if host.hasSuffix(entry) || (matchesHostItself && host == entry.dropFirst()) {
                if entryPort == nil || entryPort == port { return true }
            }
        }
        return false
    }

    /// `host:port` or `[v6]:port` split; nil when there is no port.
    private static func splitPort(_ entry: String) -> (host: String, port: Int)? {
        guard let colon = entry.lastIndex(of: ":") else { return nil }
        let host = String(entry[..<colon])
        // A bare IPv6 address has colons but no port.
        if host.contains(":") && !(host.hasPrefix("[") && host.hasSuffix("]")) { return nil }
        guard let port = Int(entry[entry.index(after: colon)...]) else { return nil }
        return (host, port)
    }

    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    private static func isLoopback(_ host: String) -> Bool {
        guard let bytes = IPAddress(host)?.bytes else { return false }
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
        return bytes.starts(with: mapped) ? bytes[12] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    private static func withoutPassword(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        return "…" + text[at...]
    }
}

/// An address range written `address/bits`, over ``IPAddress``'s 16 bytes (an IPv4 range's
/// bits counted after the IPv4-mapped prefix).
private struct CIDRRange {
    let network: IPAddress
    let bits: Int

    init?(_ address: Substring, _ bits: Substring) {
        guard let network = IPAddress(address), let bits = Int(bits) else { return nil }
        let isIPv4 = !address.contains(":")
        guard bits >= 0, bits <= (isIPv4 ? 32 : 128) else { return nil }
        self.network = network
        self.bits = isIPv4 ? bits + 96 : bits
    }

    func contains(_ address: IPAddress) -> Bool {
        var remaining = bits
        for (a, n) in zip(address.bytes, network.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != n & mask { return false }
            remaining -= 8
        }
        return true
    }
}
