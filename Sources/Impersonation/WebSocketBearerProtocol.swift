import HTTPTypes

/// The `Sec-WebSocket-Protocol` entry that browsers and client-go's WebSocket executor use to
/// carry a bearer token, since a WebSocket handshake from a browser cannot set `Authorization`.
enum WebSocketBearerProtocol {
    static let prefix = "base64url.bearer.authorization.k8s.io."

    /// What the request's subprotocol offer says: the entries to keep, and the bearer entries taken out.
    struct Offer {
        /// Trimmed, in order, empty entries included, as the API server rebuilds the header.
        var remaining: [Substring] = []
        var bearerEntries: [Substring] = []
    }

    static func offer(in fields: HTTPFields) -> Offer {
        var offer = Offer()
        for value in fields[values: .secWebSocketProtocol] {
            for entry in value.unicodeScalars.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = Substring(entry).trimmingWhitespace()
                if trimmed.hasPrefix(prefix) {
                    offer.bearerEntries.append(trimmed.dropFirst(prefix.count))
                } else {
                    offer.remaining.append(trimmed)
                }
            }
        }
        return offer
    }

    /// The edit that takes the bearer entries out of the forwarded header.
    static func edit(for fields: HTTPFields) -> WebSocketProtocolEdit {
        let offer = offer(in: fields)
        if offer.bearerEntries.isEmpty { return .keep }
        if offer.remaining.isEmpty { return .remove }
        return .replace(offer.remaining.joined(separator: ","))
    }

    /// The token of a WebSocket handshake, checked as the API server's protocol authenticator does.
    static func token(in fields: HTTPFields) throws(CredentialError) -> String? {
        guard isWebSocketUpgrade(fields) else { return nil }
        let offer = offer(in: fields)
        var token: String?
        for (index, encoded) in offer.bearerEntries.enumerated() {
            if index > 0 { throw .multipleWebSocketTokens }
            guard let bytes = RawBase64URL.decode(encoded) else { throw .invalidWebSocketTokenEncoding }
            guard !bytes.isEmpty, let decoded = String(validating: bytes, as: UTF8.self) else {
                throw .invalidWebSocketToken
            }
            token = decoded
        }
        // The server must echo one subprotocol back, so a token alone would break the handshake.
        if token != nil && offer.remaining.isEmpty { throw .missingAdditionalWebSocketProtocol }
        return token
    }

    static func isWebSocketUpgrade(_ fields: HTTPFields) -> Bool {
        containsToken("upgrade", in: fields[values: .connection])
            && containsToken("websocket", in: fields[values: .upgrade])
    }

    private static func containsToken(_ token: String, in values: [String]) -> Bool {
        values.contains { value in
            value.unicodeScalars.split(separator: ",").contains { entry in
                Substring(entry).trimmingWhitespace().lowercased() == token
            }
        }
    }
}

/// What happens to `Sec-WebSocket-Protocol` when a request is forwarded under the proxy's identity.
public enum WebSocketProtocolEdit: Sendable, Hashable {
    /// No bearer entry: the field passes as it came.
    case keep
    /// The remaining subprotocols, joined with `,`, replace every `Sec-WebSocket-Protocol` field.
    case replace(String)
    /// The bearer entry was the only one: the field goes.
    case remove

    func apply(to fields: inout HTTPFields) {
        switch self {
        case .keep: break
        case .replace(let value): fields[.secWebSocketProtocol] = value
        case .remove: fields[.secWebSocketProtocol] = nil
        }
    }
}

extension Substring {
    /// Go's `strings.TrimSpace`: Unicode white space at both ends.
    func trimmingWhitespace() -> Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return self[endIndex...] }
        return Substring(scalars[first...last])
    }
}
