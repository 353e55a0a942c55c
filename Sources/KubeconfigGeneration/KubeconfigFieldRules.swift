import Foundation

/// The checks a `kubeconfig` value must pass, each answering with the problem in a few words
/// (nil when the value is fine), so the command line can name its flag in front of it. Pure.
public enum KubeconfigFieldRules {
    /// A Kubernetes object name in its strictest common form (an RFC 1123 label): at most 63
    /// characters, lowercase letters, digits and `-`, starting and ending with a letter or digit.
    public static func objectNameProblem(_ name: String) -> String? {
        let rule =
            "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
        guard !name.isEmpty else { return "is required: a Kubernetes object name (\(rule))" }
        let notAName = "\"\(name)\" is not a Kubernetes object name"
        if name.utf8.count > 63 { return notAName + ": \(name.utf8.count) characters, more than 63" }
        func isAlphanumeric(_ character: Character) -> Bool {
            character.isASCII && (character.isLowercase || character.isNumber)
        }
        if let bad = name.first(where: { !isAlphanumeric($0) && $0 != "-" }) {
            return notAName + ": '\(bad)' is not allowed (\(rule))"
        }
        if !isAlphanumeric(name.first!) || !isAlphanumeric(name.last!) {
            return notAName + ": it must start and end with a letter or digit"
        }
        return nil
    }

    /// The proxy's address as a kubeconfig `server`: `host`, `host:port` or an `https://` URL
    /// become `https://host[:port]`. The proxy only speaks TLS, so `http://` is refused.
    public static func serverURL(_ address: String) -> Result<String, Problem> {
        let trimmed = address.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return .failure(Problem("is required: the proxy's DNS name and port")) }
        let withScheme = trimmed.contains("://") ? trimmed : "https://" + trimmed
        guard let url = URLComponents(string: withScheme), let scheme = url.scheme?.lowercased() else {
            return .failure(Problem("\"\(address)\" is not a host name and port"))
        }
        guard scheme == "https" else {
            return .failure(Problem("\"\(address)\" must be https: the proxy only serves TLS"))
        }
        guard let host = url.host, !host.isEmpty else {
            return .failure(Problem("\"\(address)\" has no host name"))
        }
        if let port = url.port, !(1...65535).contains(port) {
            return .failure(Problem("\"\(address)\" has port \(port), outside 1-65535"))
        }
        guard url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil, url.user == nil else {
            return .failure(Problem("\"\(address)\" must be only a host name and port"))
        }
        let hostText = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return .success("https://\(hostText.lowercased())" + (url.port.map { ":\($0)" } ?? ""))
    }

    /// `proxy-url`: an `http`, `https` or `socks5` URL with a host, as client-go accepts.
    public static func proxyURLProblem(_ text: String) -> String? {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
            let host = url.host, !host.isEmpty
        else { return "\"\(text)\" is not a URL such as http://localhost:8443" }
        guard ["http", "https", "socks5"].contains(scheme) else {
            return "\"\(text)\" must be an http, https or socks5 URL"
        }
        return nil
    }

    /// A value no rule above accepts, in words.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
