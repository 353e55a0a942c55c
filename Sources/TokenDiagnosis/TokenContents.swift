import OIDCVerifier

/// What a token says about itself, read without verifying anything: its header's `alg` and
/// `kid` and its claims. Only used to explain a refusal (which claims exist, of what type);
/// never trusted, and the token itself is never kept.
public struct TokenContents: Sendable, Equatable {
    public var algorithm: String?
    public var keyID: String?
    public var claims: [String: JSONValue]

    public init(algorithm: String? = nil, keyID: String? = nil, claims: [String: JSONValue] = [:]) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.claims = claims
    }

    /// Reads what it can; a token that is no JWT at all gives empty contents.
    public init(unverified token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        func object(_ index: Int) -> [String: JSONValue] {
            guard index < parts.count, let bytes = Base64URL.decode(Array(parts[index].utf8)) else { return [:] }
            return (try? JSONValue.parseObject(bytes)) ?? [:]
        }
        let header = object(0)
        self.init(algorithm: header["alg"]?.stringValue, keyID: header["kid"]?.stringValue, claims: object(1))
    }

    /// The claim names, sorted.
    public var claimNames: [String] { claims.keys.sorted() }
}

extension JSONValue {
    /// The JSON type in words, for "it is a number" explanations.
    var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool(let value): "the boolean \(value)"
        case .number: "a number"
        case .string(let value): "the string \"\(value)\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}
