import IPAddresses

/// An event's `sourceIPs`, derived as the API server derives them from a request: the valid
/// addresses in `X-Forwarded-For` (in order), then `X-Real-Ip` unless already listed, then the
/// peer's address unless it is the last one listed. Each is written as Go writes an IP: IPv4 (and
/// IPv4-mapped IPv6) dotted, other IPv6 in its shortest form.
///
/// The headers are taken as the API server takes them, unverified: the peer is always there, as
/// the one address a client cannot choose.
public enum SourceIPs {
    /// `forwardedFor` and `realIP`: the first value of each header, when present.
    public static func derive(forwardedFor: String?, realIP: String?, peer: String?) -> [String] {
        if forwardedFor == nil, realIP == nil {
            // The usual case: no proxy headers, and a peer already written the way Go writes it.
            guard let peer else { return [] }
            if !peer.utf8.contains(UInt8(ascii: ":")) { return [peer] }
            return IPAddress(peer).map { [$0.description] } ?? []
        }
        var addresses: [IPAddress] = []
        if let forwardedFor, !forwardedFor.isEmpty {
            for part in forwardedFor.split(separator: ",", omittingEmptySubsequences: false) {
                if let address = IPAddress(trimmingSpaces(part)) { addresses.append(address) }
            }
        }
        if let realIP, !realIP.isEmpty, let address = IPAddress(Substring(realIP)), !addresses.contains(address) {
            addresses.append(address)
        }
        if let peer, let address = IPAddress(Substring(peer)), addresses.last != address {
            addresses.append(address)
        }
        return addresses.map(\.description)
    }

    /// Go's `strings.TrimSpace` for the ASCII white space a header value can hold.
    private static func trimmingSpaces(_ text: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }) else { return text[text.endIndex...] }
        let last = text.lastIndex(where: { !isSpace($0) })!
        return text[first...last]
    }
}

extension AuditEvent {
    /// The longest `User-Agent` the API server records whole, in bytes.
    public static let userAgentLimit = 1024

    /// A `User-Agent` as the API server records it: its first ``userAgentLimit`` bytes and
    /// `...TRUNCATED` when longer.
    public static func boundedUserAgent(_ userAgent: String) -> String {
        guard userAgent.utf8.count > userAgentLimit else { return userAgent }
        return String(decoding: userAgent.utf8.prefix(userAgentLimit), as: UTF8.self) + "...TRUNCATED"
    }
}
