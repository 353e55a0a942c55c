/// Why a request's bearer credential is unusable. Every case answers 401, as the API server does,
/// without telling the client which check failed; ``description`` is for the operator and never
/// holds the token.
public enum CredentialError: KubernetesStatusError, Hashable, CustomStringConvertible {
    /// `Authorization: Bearer  x`: the token after the first space is empty.
    case emptyBearerToken
    /// The WebSocket bearer entry is not unpadded base64url.
    case invalidWebSocketTokenEncoding
    /// The WebSocket bearer entry decodes to nothing, or to bytes that are not UTF-8.
    case invalidWebSocketToken
    case multipleWebSocketTokens
    /// The WebSocket bearer entry is the only subprotocol offered, so none would be left to accept.
    case missingAdditionalWebSocketProtocol

    public var status: KubernetesStatus {
        KubernetesStatus(code: 401, reason: .unauthorized, message: "Unauthorized")
    }

    public var description: String {
        switch self {
        case .emptyBearerToken:
            "invalid bearer token: the Authorization header has an empty token"
        case .invalidWebSocketTokenEncoding:
            "invalid bearer token: the Sec-WebSocket-Protocol bearer entry is not unpadded base64url"
        case .invalidWebSocketToken:
            "invalid bearer token: the Sec-WebSocket-Protocol bearer entry is empty or not UTF-8"
        case .multipleWebSocketTokens:
            "multiple bearer tokens in Sec-WebSocket-Protocol"
        case .missingAdditionalWebSocketProtocol:
            "Sec-WebSocket-Protocol carries a bearer token but no subprotocol to accept"
        }
    }
}
