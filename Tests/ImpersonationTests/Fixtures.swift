import Foundation
import HTTPTypes

/// Header fields in the given order, names spelt as given.
func fields(_ pairs: (String, String)...) -> HTTPFields {
    fields(pairs)
}

func fields(_ pairs: [(String, String)]) -> HTTPFields {
    var result = HTTPFields()
    for (name, value) in pairs {
        result.append(HTTPField(name: HTTPField.Name(name)!, value: value))
    }
    return result
}

/// Every field as `Name: value`, in wire order, so order itself is checked.
func lines(_ fields: HTTPFields) -> [String] {
    fields.map { "\($0.name.rawName): \($0.value)" }
}

/// Go's `base64.RawURLEncoding`.
func rawBase64URL(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

func rawBase64URL(_ text: String) -> String {
    rawBase64URL(Array(text.utf8))
}

let bearerProtocolPrefix = "base64url.bearer.authorization.k8s.io."

func bearerProtocol(_ token: String) -> String {
    bearerProtocolPrefix + rawBase64URL(token)
}

/// A WebSocket handshake as client-go's WebSocket executor sends it.
func webSocketUpgrade(protocols: [String], extra: [(String, String)] = []) -> HTTPFields {
    fields(
        [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
            + protocols.map { ("Sec-WebSocket-Protocol", $0) } + extra
    )
}

/// A token shaped like a real ID token, so a leak in a description would be recognisable.
let sampleToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
