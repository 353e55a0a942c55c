import NIOHTTP1

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): a proxy must not
/// forward them, nor any header the `Connection` header names.
///
/// Both directions of every exchange pass through here, so names are compared byte by byte
/// without lowercasing them into new strings, and headers with nothing to strip are returned
/// as they are (lowercasing and hashing every name cost about 8.8 µs per request).
enum HopByHop {
    static let names: [String] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// `headers` without hop-by-hop fields. For an upgrade request `Connection: Upgrade` and
    /// `Upgrade` are kept: they are the message.
    static func stripped(_ headers: HTTPHeaders, keepingUpgrade: Bool = false) -> HTTPHeaders {
        // The names the `Connection` header lists, when there is one.
        let named = headers.contains(name: "connection") ? headers[canonicalForm: "connection"] : []
        func drops(_ name: String) -> Bool {
            if keepingUpgrade && (equalIgnoringCase(name, "connection") || equalIgnoringCase(name, "upgrade")) {
                return false
            }
            return names.contains { equalIgnoringCase(name, $0) } || named.contains { equalIgnoringCase(name, $0) }
        }
        guard headers.contains(where: { drops($0.name) }) else { return headers }
        var result = HTTPHeaders()
        result.reserveCapacity(headers.count)
        for (name, value) in headers where !drops(name) {
            result.add(name: name, value: value)
        }
        return result
    }

    /// Whether the request asks to switch protocols (`kubectl exec`, `attach`, `port-forward`).
    static func isUpgrade(_ headers: HTTPHeaders) -> Bool {
        guard headers.contains(name: "upgrade") else { return false }
        return headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// ASCII case-insensitive equality, as header names compare.
    static func equalIgnoringCase(_ name: String, _ other: some StringProtocol) -> Bool {
        let (left, right) = (name.utf8, other.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { lowered($0) == lowered($1) }
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
