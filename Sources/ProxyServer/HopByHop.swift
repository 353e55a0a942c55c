import NIOHTTP1

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): a proxy must not
/// forward them, nor any header the `Connection` header names.
enum HopByHop {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// `headers` without hop-by-hop fields. For an upgrade request `Connection: Upgrade` and
    /// `Upgrade` are kept: they are the message.
    static func stripped(_ headers: HTTPHeaders, keepingUpgrade: Bool = false) -> HTTPHeaders {
        var named = Set<String>()
        for value in headers[canonicalForm: "connection"] {
            named.insert(value.lowercased())
        }
        var result = HTTPHeaders()
        result.reserveCapacity(headers.count)
        for (name, value) in headers {
            let lower = name.lowercased()
            if keepingUpgrade && (lower == "connection" || lower == "upgrade") {
                result.add(name: name, value: value)
                continue
            }
            if names.contains(lower) || named.contains(lower) { continue }
            result.add(name: name, value: value)
        }
        return result
    }

    /// Whether the request asks to switch protocols (`kubectl exec`, `attach`, `port-forward`).
    static func isUpgrade(_ headers: HTTPHeaders) -> Bool {
        guard headers.contains(name: "upgrade") else { return false }
        return headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }
}
