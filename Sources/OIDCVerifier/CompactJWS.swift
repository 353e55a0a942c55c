/// A token split into its three JWS compact-serialization parts. Parsing checks only the
/// shape; nothing here is trusted until ``VerificationKey`` has checked the signature.
struct CompactJWS: Sendable {
    /// Tokens larger than this are refused before any decoding: no real ID token comes close,
    /// and a bound keeps a hostile header from costing more than a header's worth of work.
    static let maximumLength = 64 * 1024

    let algorithm: String
    let keyID: String?
    let signingInput: ArraySlice<UInt8>
    let signature: [UInt8]
    let payload: [UInt8]

    init(_ token: String) throws(TokenRefusal) {
        var utf8 = Array(token.utf8)
        if utf8.isEmpty { throw .malformed("token is empty") }
        if utf8.count > Self.maximumLength {
            throw .malformed("token is \(utf8.count) bytes, more than \(Self.maximumLength)")
        }
        var dots: [Int] = []
        for index in utf8.indices where utf8[index] == UInt8(ascii: ".") {
            dots.append(index)
            if dots.count > 2 { break }
        }
        guard dots.count == 2 else {
            throw .malformed("expected 3 dot-separated segments, found \(dots.count < 2 ? dots.count + 1 : 4) or more")
        }
        let headerBytes = utf8[..<dots[0]]
        let payloadBytes = utf8[(dots[0] + 1)..<dots[1]]
        let signatureBytes = utf8[(dots[1] + 1)...]
        guard let header = Base64URL.decode(headerBytes) else { throw .malformed("header is not base64url") }
        guard let payload = Base64URL.decode(payloadBytes) else { throw .malformed("payload is not base64url") }
        guard let signature = Base64URL.decode(signatureBytes), !signature.isEmpty else {
            throw .malformed("signature is missing or not base64url")
        }
        let fields: [String: JSONValue]
        do {
            fields = try JSONValue.parseObject(header)
        } catch {
            throw .malformed("header is not a JSON object")
        }
        guard case .string(let alg)? = fields["alg"] else { throw .malformed("header has no 'alg'") }
        if fields["crit"] != nil { throw .unsupportedCriticalHeader }
        switch fields["kid"] {
        case nil, .null?: self.keyID = nil
        // An empty `kid` names no key: every key is tried, as go-oidc does for `keyID == ""`.
        case .string(let kid)?: self.keyID = kid.isEmpty ? nil : kid
        default: throw .malformed("header 'kid' is not a string")
        }
        self.algorithm = alg
        self.payload = payload
        self.signature = signature
        utf8.removeSubrange(dots[1]...)
        self.signingInput = utf8[...]
    }
}
