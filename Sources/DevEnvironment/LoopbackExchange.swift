import Foundation
import OIDCVerifier

/// A request as the development servers see it: everything read, nothing streamed.
public struct LoopbackRequest: Sendable {
    public var method: String
    /// The path without the query.
    public var path: String
    public var query: String?
    /// Header fields in the order received; names keep their spelling.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// `https://127.0.0.1:<port>` of the server that received the request, so a server can name
    /// itself (the issuer's discovery document) before anyone knew which port it would get.
    public var serverURL: String

    public init(
        method: String, uri: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        serverURL: String = "https://127.0.0.1"
    ) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        query = parts.count > 1 ? String(parts[1]) : nil
        self.headers = headers
        self.body = body
        self.serverURL = serverURL
    }

    /// The values of every field called `name` (case-insensitive), in order.
    public func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public func value(_ name: String) -> String? { values(name).first }
}

/// A complete response.
public struct LoopbackResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String = "application/json", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A JSON body, keys sorted so responses are reproducible.
    public static func json(_ value: JSONValue, status: Int = 200) -> LoopbackResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A JSONValue always encodes.
        let body = (try? encoder.encode(value)).map(Array.init) ?? Array("null".utf8)
        return LoopbackResponse(status: status, body: body)
    }
}
