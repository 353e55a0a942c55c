import NIOHTTP1

/// Where the client sees a response complete, so that the exchange's audit events are written
/// just before it: at the head when the response has no body (`HEAD`, 1xx, 204, 304,
/// `Content-Length: 0`), at the chunk that reaches its `Content-Length`, else (chunked, an
/// HTTP/2 stream) at its end. A later flush may carry those last bytes out at any moment, so
/// waiting for the final `.end` write would be too late for a body of known length.
struct ResponseCompletion: Sendable {
    /// Body bytes the client still waits for; nil when only the end of the body tells.
    private(set) var remaining: Int?

    init(method: HTTPMethod, response: HTTPResponseHead) {
        let code = response.status.code
        if method == .HEAD || (100..<200).contains(code) || code == 204 || code == 304 {
            remaining = 0
        } else {
            remaining = response.headers.first(name: "content-length").flatMap(Int.init)
        }
    }

    /// The head alone completes the response.
    var isComplete: Bool { remaining == 0 }

    /// Counts a relayed chunk; true for the one that completes the body.
    mutating func relayed(_ count: Int) -> Bool {
        guard let left = remaining, left > 0 else { return false }
        remaining = max(0, left - count)
        return remaining == 0
    }
}
