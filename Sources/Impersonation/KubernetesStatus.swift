/// A failure answered by the proxy itself, shaped as the API server's own `Status` object so that
/// `kubectl` prints the message rather than a bare HTTP error.
public struct KubernetesStatus: Sendable, Hashable {
    /// The `reason` field: a machine-readable word clients switch on.
    public struct Reason: RawRepresentable, Sendable, Hashable {
        public let rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public static let badRequest = Reason(rawValue: "BadRequest")
        public static let unauthorized = Reason(rawValue: "Unauthorized")
        public static let forbidden = Reason(rawValue: "Forbidden")
        public static let internalError = Reason(rawValue: "InternalError")
        public static let serviceUnavailable = Reason(rawValue: "ServiceUnavailable")
        public static let timeout = Reason(rawValue: "Timeout")
    }

    public var code: Int
    public var reason: Reason
    public var message: String

    public init(code: Int, reason: Reason, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    /// The response body, served with `Content-Type: application/json`.
    public var jsonBody: String {
        Self.jsonBody(code: code, reason: reason.rawValue, message: message)
    }

    /// Renders `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}` with the
    /// fields in the API server's order.
    public static func jsonBody(code: Int, reason: String, message: String) -> String {
        #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"#
            + jsonString(message) + #","reason":"# + jsonString(reason) + #","code":\#(code)}"#
    }

    /// Hand-escaped so the key order is fixed and no Foundation is needed; messages may quote
    /// user-controlled text, so every control character is escaped.
    static func jsonString(_ text: String) -> String {
        var escaped = "\""
        escaped.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case "\u{08}": escaped += "\\b"
            case "\u{0C}": escaped += "\\f"
            // U+2028 and U+2029 are valid JSON but end a line in JavaScript; Go escapes them too,
            // and `<` `>` `&` (the API server's encoder escapes HTML's specials).
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029,
                "<", ">", "&":
                escaped += "\\u" + hex4(scalar.value)
            default:
                escaped.unicodeScalars.append(scalar)
            }
        }
        escaped += "\""
        return escaped
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// An error the proxy answers with a Kubernetes `Status` body.
public protocol KubernetesStatusError: Error, Sendable {
    var status: KubernetesStatus { get }
}

extension KubernetesStatusError {
    /// The HTTP status code of the response.
    public var code: Int { status.code }
    public var reason: KubernetesStatus.Reason { status.reason }
    /// What the client is told; never carries a credential.
    public var message: String { status.message }
}
