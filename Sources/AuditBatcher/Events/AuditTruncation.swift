import Foundation

/// The API server's `--audit-webhook-truncate-*` behaviour (k8s.io/apiserver/plugin/pkg/audit/truncate):
/// an event over `maxEventSize` loses its request and response objects and is annotated
/// `audit.k8s.io/truncated: "true"`; if it is still too large it is dropped. Batches whose events
/// add up to more than `maxBatchSize` are split.
///
/// Sizes are counted as upstream counts them: an event's is its encoding as a standalone event
/// (`AuditEvent.jsonBytes()`) plus the newline its encoder ends it with (``encodedSize(_:)``); a
/// batch's is the sum of its events' (the `EventList` envelope and commas are not counted).
public struct AuditTruncation: Sendable, Hashable {
    public static let annotationKey = "audit.k8s.io/truncated"
    public static let annotationValue = "true"
    public static let defaultMaxEventSize = 100 * 1024
    public static let defaultMaxBatchSize = 10 * 1024 * 1024

    public var maxEventSize: Int
    public var maxBatchSize: Int

    public init(maxEventSize: Int = Self.defaultMaxEventSize, maxBatchSize: Int = Self.defaultMaxBatchSize) {
        self.maxEventSize = maxEventSize
        self.maxBatchSize = maxBatchSize
    }

    public enum Outcome: Sendable {
        /// Within the limit; `encoded` is the event's `jsonBytes()`.
        case unchanged(encoded: [UInt8])
        /// The objects were removed and the annotation added; `encoded` is the new event's bytes.
        case truncated(AuditEvent, encoded: [UInt8])
        /// Too large even without objects (`encodedSize` is the smallest size reached).
        case dropped(encodedSize: Int)

        /// The bytes to send, or nil when the event is dropped.
        public var encoded: [UInt8]? {
            switch self {
            case .unchanged(let encoded), .truncated(_, let encoded): encoded
            case .dropped: nil
            }
        }
    }

    /// An event's size as upstream measures it: Go's JSON encoder ends each event with a newline.
    public static func encodedSize(_ json: some Collection<UInt8>) -> Int { json.count + 1 }

    /// Whether the event `json` is over the limit.
    public func isOversized(_ json: some Collection<UInt8>) -> Bool { Self.encodedSize(json) > maxEventSize }

    public func apply(to event: AuditEvent) -> Outcome {
        let encoded = event.jsonBytes()
        if !isOversized(encoded) { return .unchanged(encoded: encoded) }
        // Upstream truncates only events at Request level or above, i.e. the ones carrying
        // objects; without objects there is nothing to remove.
        guard event.requestObject != nil || event.responseObject != nil else {
            return .dropped(encodedSize: Self.encodedSize(encoded))
        }
        var truncated = event
        truncated.requestObject = nil
        truncated.responseObject = nil
        truncated.annotations[Self.annotationKey] = Self.annotationValue
        let smaller = truncated.jsonBytes()
        guard !isOversized(smaller) else { return .dropped(encodedSize: Self.encodedSize(smaller)) }
        return .truncated(truncated, encoded: smaller)
    }

    /// Applies the limit to events given as bytes and, where known, structure: those within it,
    /// or over it with no structure to truncate, are kept as they are; the others lose their
    /// objects, or are left out. Returns the bytes to write, and how many were left out.
    public func apply(to events: some Collection<(json: [UInt8], event: AuditEvent?)>) -> (
        kept: [[UInt8]], dropped: Int
    ) {
        var kept: [[UInt8]] = []
        kept.reserveCapacity(events.count)
        var dropped = 0
        for (json, event) in events {
            guard isOversized(json), let event else {
                kept.append(json)
                continue
            }
            if let encoded = apply(to: event).encoded { kept.append(encoded) } else { dropped += 1 }
        }
        return (kept, dropped)
    }

    /// An event handed over as bytes alone, read back when it is over the limit (rare: then its
    /// objects are to be removed); nil when within it, or unreadable.
    public func structureIfOversized(_ json: [UInt8]) -> AuditEvent? {
        guard isOversized(json) else { return nil }
        return try? JSONDecoder().decode(AuditEvent.self, from: Data(json))
    }

    /// Splits a batch, given its events' sizes in order (``encodedSize(_:)``), into consecutive index ranges each within
    /// `maxBatchSize`. An event alone over the limit still gets a range of its own (it cannot
    /// happen after `apply(to:)` as long as `maxEventSize <= maxBatchSize`).
    public func batchRanges(eventSizes: some Sequence<Int>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var index = 0
        var total = 0
        for size in eventSizes {
            if index > start, total + size > maxBatchSize {
                ranges.append(start..<index)
                start = index
                total = 0
            }
            total += size
            index += 1
        }
        if index > start { ranges.append(start..<index) }
        return ranges
    }
}
