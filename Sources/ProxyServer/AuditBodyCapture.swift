import AuditBatcher
import NIOCore

/// Which bodies an audit event records, as the API server records them: the request body from
/// level `Request`, the response body at `RequestResponse`, for resource requests only, and only
/// what it could decode as JSON (it re-encodes objects as JSON; we keep the bytes, which must
/// be JSON already). A long-running response (a watch, `logs -f`, an exec tunnel) is a stream,
/// not an object: it has no `responseObject`.
enum AuditedBody: Sendable {
    case request
    case response

    func isRecorded(
        level: AuditLevel, isResourceRequest: Bool, isLongRunning: Bool, contentType: String?,
        contentEncoding: String?
    ) -> Bool {
        switch self {
        case .request: guard level >= .request else { return false }
        case .response: guard level >= .requestResponse, !isLongRunning else { return false }
        }
        return isResourceRequest && Self.isJSON(contentType: contentType)
            && Self.isIdentity(contentEncoding: contentEncoding)
    }

    /// `application/json` and the structured `+json` types: merge, strategic-merge and JSON
    /// patches. Not `apply-patch+yaml`, protobuf or CBOR.
    static func isJSON(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.prefix { $0 != ";" }.trimmingSpaces.lowercased()
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// A compressed body is not JSON to read.
    static func isIdentity(contentEncoding: String?) -> Bool {
        guard let contentEncoding else { return true }
        let coding = Substring(contentEncoding).trimmingSpaces.lowercased()
        return coding.isEmpty || coding == "identity"
    }
}

/// A copy of a body taken as it streams past, for the audit event: the forwarded bytes are
/// never held back. Bounded: past `limit` the copy is dropped and the event says it was
/// truncated (`audit.k8s.io/truncated`), as a body too large to keep.
struct AuditBodyCapture: Sendable {
    /// Per direction and exchange.
    static let defaultLimit = 1 << 20

    enum Outcome: Equatable, Sendable {
        case object(RawJSON)
        /// Over the limit: no object, the truncated annotation instead.
        case tooLarge
        /// Not one JSON value (empty, cut short, not JSON after all): no object, as the API
        /// server records none for a body it could not decode.
        case notJSON
    }

    let limit: Int
    /// The body's `Content-Length`, when it declared one.
    let declaredLength: Int?
    private(set) var bytes: [UInt8] = []
    private(set) var isOverLimit = false
    /// Bytes seen so far, kept or not.
    private(set) var receivedBytes = 0

    /// A `declaredLength` (the body's `Content-Length`) over the limit settles it without a copy.
    init(limit: Int = Self.defaultLimit, declaredLength: Int? = nil) {
        self.limit = limit
        self.declaredLength = declaredLength
        if let declaredLength {
            if declaredLength > limit {
                isOverLimit = true
            } else {
                bytes.reserveCapacity(declaredLength)
            }
        }
    }

    mutating func append(_ chunk: ByteBuffer) {
        receivedBytes += chunk.readableBytes
        guard !isOverLimit else { return }
        guard bytes.count + chunk.readableBytes <= limit else {
            isOverLimit = true
            bytes = []
            return
        }
        bytes.append(contentsOf: chunk.readableBytesView)
    }

    /// Every byte the body declared has been seen: the copy is whole, even before the end of the
    /// body is read on the client's connection (the API server may answer first).
    var hasWholeDeclaredBody: Bool {
        declaredLength.map { receivedBytes == $0 } ?? false
    }

    var outcome: Outcome {
        if isOverLimit { return .tooLarge }
        guard let object = try? RawJSON(validating: bytes) else { return .notJSON }
        return .object(object)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[first...last]
    }
}
