import Foundation

/// What a kubeconfig-format file names: the rules differ where the proxy's own credentials or
/// its forwarding are at stake.
public enum UpstreamRole: Sendable {
    /// The API server: plain http only to a loopback host (the proxy's credentials go there), and
    /// no `proxy-url` (the forwarding has no proxy support).
    case apiServer
    /// An audit webhook, as the API server's (client-go): plain http to any host (its credential
    /// is then not sent), and a `proxy-url` taken.
    case auditWebhook

    var allowsPlainHTTPToAnyHost: Bool { self == .auditWebhook }
    var allowsProxyURL: Bool { self == .auditWebhook }
}

/// The API server's address, as kubectl reads it: `host:port` without a scheme means https.
/// An audit webhook's, as client-go reads the API server's webhook file: without a scheme it is
/// plain http (clientcmd decides on TLS before it merges the file's CA or certificates, so a
/// bare `collector:8082` is never https there).
enum ServerURL {
    /// Parses `value`; `source` names the flag or kubeconfig entry for errors.
    static func parse(
        _ value: String, source: String, role: UpstreamRole = .apiServer
    ) throws(UpstreamConfigurationError) -> URL {
        func invalid(_ reason: String) -> UpstreamConfigurationError {
            .invalidServer(source: source, value: value, reason: reason)
        }
        guard !value.isEmpty else { throw invalid("it is empty") }
        guard !value.contains(where: { $0.isWhitespace }) else { throw invalid("it contains whitespace") }
        let text = value.contains("://") ? value : (role.allowsPlainHTTPToAnyHost ? "http://" : "https://") + value
        guard var components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { throw invalid("not a URL or host:port") }
        switch scheme {
        case "https":
            break
        case "http":
            guard role.allowsPlainHTTPToAnyHost || isLoopback(host) else {
                throw invalid("plain http is only allowed to a loopback host; use https")
            }
        default:
            throw invalid(role.allowsPlainHTTPToAnyHost ? "scheme must be https or http" : "scheme must be https")
        }
        guard components.user == nil, components.password == nil else { throw invalid("it must not hold credentials") }
        guard components.query == nil, components.fragment == nil else {
            throw invalid("it must not have a query or fragment")
        }
        components.scheme = scheme
        while components.path.hasSuffix("/") { components.path.removeLast() }
        guard let url = components.url else { throw invalid("not a URL or host:port") }
        return url
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare.hasSuffix(".localhost") { return true }
        if bare == "::1" || bare == "0:0:0:0:0:0:0:1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
