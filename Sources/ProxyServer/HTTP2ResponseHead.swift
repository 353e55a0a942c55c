import NIOHPACK
import NIOHTTP1

/// An audited exchange's final response head as the HEADERS block an HTTP/2 stream sends: what
/// swift-nio-http2's HTTP/1-to-HTTP/2 codec would make of it (`:status` first, names in lower
/// case, connection-specific headers removed), plus the exchange's `Audit-Id` in place of the
/// API server's (which echoes ours), as a literal the peers do not index.
///
/// Every exchange has its own ID, so indexing it only churns both sides' HPACK tables: the
/// encoder would insert an entry per response that nothing ever matches, evicting the ones that
/// do (`content-type`, `date`), which measured about 6 µs per audited request. The stream's
/// ``ProxyExchangeHandler`` writes this block below the codec, so the head is converted once,
/// by the same rules, with no handler of its own on every stream.
enum HTTP2ResponseHead {
    /// nil for an informational (1xx) head: only the final head carries the ID, and the codec
    /// converts the others as they are.
    static func block(for head: HTTPResponseHead, auditID: String) -> HPACKHeaders? {
        guard head.status.code >= 200 else { return nil }
        var withStatus = HTTPHeaders()
        withStatus.reserveCapacity(head.headers.count + 2)
        withStatus.add(name: ":status", value: String(head.status.code))
        withStatus.add(contentsOf: head.headers)
        var block = HPACKHeaders(httpHeaders: withStatus, normalizeHTTPHeaders: true)
        block.replaceOrAdd(name: "audit-id", value: auditID, indexing: .nonIndexable)
        return block
    }
}
