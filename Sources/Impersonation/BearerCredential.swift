import HTTPTypes

/// The bearer token a request presents, found where the Kubernetes API server looks for it.
///
/// Its descriptions never show the token, so it can be logged or fail a test safely.
public struct BearerCredential: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        case authorizationHeader
        /// The `base64url.bearer.authorization.k8s.io.` entry of a WebSocket handshake's subprotocols.
        case webSocketProtocol
    }

    public let token: String
    public let source: Source
    /// How `Sec-WebSocket-Protocol` must change so the request can travel upstream without the token.
    public let webSocketProtocolEdit: WebSocketProtocolEdit

    public init(token: String, source: Source, webSocketProtocolEdit: WebSocketProtocolEdit = .keep) {
        self.token = token
        self.source = source
        self.webSocketProtocolEdit = webSocketProtocolEdit
    }

    /// The request's bearer token, or nil when it presents none (an unauthenticated request, not
    /// an error).
    ///
    /// `Authorization` wins over the WebSocket subprotocol because the API server's union
    /// authenticator tries it first; a broken subprotocol entry then goes unnoticed, as it does there.
    public static func extract(from fields: HTTPFields) throws(CredentialError) -> BearerCredential? {
        let edit = WebSocketBearerProtocol.edit(for: fields)
        let fromHeader: Result<String?, CredentialError> = authorizationToken(in: fields)
        if case .success(let token?) = fromHeader {
            return BearerCredential(token: token, source: .authorizationHeader, webSocketProtocolEdit: edit)
        }
        let fromWebSocket: String?
        do {
            fromWebSocket = try WebSocketBearerProtocol.token(in: fields)
        } catch {
            // Both failed: the header's failure is reported, it was tried first.
            if case .failure(let headerError) = fromHeader { throw headerError }
            throw error
        }
        if let fromWebSocket {
            return BearerCredential(token: fromWebSocket, source: .webSocketProtocol, webSocketProtocolEdit: edit)
        }
        if case .failure(let headerError) = fromHeader { throw headerError }
        return nil
    }

    /// `fields` without any credential of the client: every `Authorization` field goes (the
    /// proxy's own credentials take its place) and the bearer subprotocol entry is taken out.
    public func removed(from fields: HTTPFields) -> HTTPFields {
        var stripped = fields
        stripped[.authorization] = nil
        webSocketProtocolEdit.apply(to: &stripped)
        return stripped
    }

    /// The API server's `bearertoken` authenticator: the first `Authorization` value, trimmed,
    /// split on single spaces into at most three parts.
    static func authorizationToken(in fields: HTTPFields) -> Result<String?, CredentialError> {
        guard let header = fields[values: .authorization].first else { return .success(nil) }
        // A space is one byte in UTF-8, so splitting the bytes splits the characters alike.
        let trimmed = Substring(header).trimmingWhitespace()
        let bytes = trimmed.utf8
        let space = UInt8(ascii: " ")
        guard let schemeEnd = bytes.firstIndex(of: space), isBearerScheme(trimmed[..<schemeEnd]) else {
            return .success(nil)
        }
        let tokenStart = bytes.index(after: schemeEnd)
        let tokenEnd = bytes[tokenStart...].firstIndex(of: space) ?? bytes.endIndex
        if tokenStart == tokenEnd { return .failure(.emptyBearerToken) }
        return .success(String(trimmed[tokenStart..<tokenEnd]))
    }

    /// Only ASCII letters lower-case to `bearer`, so an ASCII comparison matches Go's `strings.ToLower`.
    private static func isBearerScheme(_ scheme: Substring) -> Bool {
        scheme.utf8.count == 6
            && zip(scheme.utf8, "bearer".utf8).allSatisfy { byte, expected in
                (byte | 0x20) == expected
            }
    }
}

extension BearerCredential: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "BearerCredential(source: \(source), token: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["source": source, "webSocketProtocolEdit": webSocketProtocolEdit])
    }
}
