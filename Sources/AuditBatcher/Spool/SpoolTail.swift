/// The newest spooled payloads kept in memory, contiguous by sequence number and bounded in
/// bytes, so a sink that keeps up reads its batches without going back to the disk. The disk
/// stays the truth: what the tail has evicted (or never held, after a restart) is read there.
struct SpoolTail {
    let maxBytes: Int
    /// The sequence number of `payloads[head]`.
    private(set) var firstSequence: UInt64
    private var payloads: [[UInt8]] = []
    private var head = 0
    private(set) var bytes = 0

    init(maxBytes: Int, nextSequence: UInt64) {
        self.maxBytes = maxBytes
        self.firstSequence = nextSequence
    }

    var count: Int { payloads.count - head }

    /// Keeps `payload`, appended as `sequence`, evicting the oldest beyond `maxBytes`.
    mutating func append(_ payload: [UInt8], sequence: UInt64) {
        guard maxBytes > 0 else { return }
        if sequence != firstSequence + UInt64(count) {
            // Not contiguous (cannot happen while the spool appends in order): start afresh.
            removeAll(nextSequence: sequence)
        }
        payloads.append(payload)
        bytes += payload.count
        while bytes > maxBytes, count > 0 { removeFirst() }
    }

    /// Forgets everything up to and including `sequence` (acknowledged or dropped).
    mutating func remove(through sequence: UInt64) {
        while count > 0, firstSequence <= sequence { removeFirst() }
        if count == 0, firstSequence <= sequence { firstSequence = sequence + 1 }
    }

    /// Up to `limit` payloads from `sequence` on, when the tail holds `sequence`; else nil.
    func payloads(from sequence: UInt64, limit: Int) -> [(sequence: UInt64, payload: [UInt8])]? {
        guard sequence >= firstSequence, sequence < firstSequence + UInt64(count) else { return nil }
        let start = head + Int(sequence - firstSequence)
        let end = min(payloads.count, start + limit)
        return (start..<end).map { (firstSequence + UInt64($0 - head), payloads[$0]) }
    }

    private mutating func removeFirst() {
        bytes -= payloads[head].count
        payloads[head] = []
        head += 1
        firstSequence += 1
        if head == payloads.count {
            payloads.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > payloads.count {
            payloads.removeFirst(head)
            head = 0
        }
    }

    private mutating func removeAll(nextSequence: UInt64) {
        payloads.removeAll(keepingCapacity: true)
        head = 0
        bytes = 0
        firstSequence = nextSequence
    }
}
