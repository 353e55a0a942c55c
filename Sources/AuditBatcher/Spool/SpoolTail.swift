/// The newest spooled payloads kept in memory, contiguous by sequence number and bounded in
/// bytes, so a sink that keeps up reads its batches without going back to the disk. The disk
/// stays the truth: what the tail has evicted (or never held, after a restart) is read there.
/// Only segments written with `pwrite` feed it: a mapped segment is read where it is mapped.
///
/// Payloads are copied into large chunks rather than kept as arrays of their own: each exchange
/// then frees its encoded events as soon as they are written, instead of keeping thousands of
/// small allocations alive until a batch is acknowledged (measured: that cost the request path
/// about 13 µs per request in the running proxy). A payload never spans two chunks.
struct SpoolTail {
    let maxBytes: Int
    /// The sequence number of `entries[head]`.
    private(set) var firstSequence: UInt64
    private var entries: [Entry] = []
    private var head = 0
    /// `chunks[i]` is chunk number `firstChunk + i`.
    private var chunks: [[UInt8]] = []
    private var firstChunk = 0
    private(set) var bytes = 0

    private struct Entry {
        var chunk: Int
        var offset: Int
        var length: Int
    }

    /// How large a chunk grows before the next starts: by default large enough to hold hundreds
    /// of events, small enough that the memory bound is kept to within a chunk.
    let chunkBytes: Int

    init(maxBytes: Int, nextSequence: UInt64, chunkBytes: Int = 256 << 10) {
        self.maxBytes = maxBytes
        self.firstSequence = nextSequence
        self.chunkBytes = chunkBytes
    }

    var count: Int { entries.count - head }

    /// Keeps `payload`, appended as `sequence`, evicting the oldest beyond `maxBytes`.
    mutating func append(_ payload: [UInt8], sequence: UInt64) {
        guard maxBytes > 0 else { return }
        if sequence != firstSequence + UInt64(count) {
            // Not contiguous (cannot happen while the spool appends in order): start afresh.
            removeAll(nextSequence: sequence)
        }
        if chunks.isEmpty || chunks[chunks.count - 1].count + payload.count > chunkBytes {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(max(chunkBytes, payload.count))
            chunks.append(chunk)
        }
        let last = chunks.count - 1
        entries.append(Entry(chunk: firstChunk + last, offset: chunks[last].count, length: payload.count))
        chunks[last].append(contentsOf: payload)
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
        let end = min(entries.count, start + max(limit, 0))
        return (start..<end).map { index in
            let entry = entries[index]
            let chunk = chunks[entry.chunk - firstChunk]
            return (firstSequence + UInt64(index - head), Array(chunk[entry.offset..<(entry.offset + entry.length)]))
        }
    }

    private mutating func removeFirst() {
        bytes -= entries[head].length
        head += 1
        firstSequence += 1
        if head == entries.count {
            // Empty: keep the newest chunk (it is being filled) and drop the rest.
            entries.removeAll(keepingCapacity: true)
            head = 0
            firstChunk = 0
            if var newest = chunks.popLast() {
                newest.removeAll(keepingCapacity: true)
                chunks = [newest]
            }
            return
        }
        // Chunks wholly before the first entry left are no longer read.
        let needed = entries[head].chunk - firstChunk
        if needed > 0 {
            chunks.removeFirst(needed)
            firstChunk += needed
        }
        if head > 1024, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    private mutating func removeAll(nextSequence: UInt64) {
        entries.removeAll(keepingCapacity: true)
        head = 0
        chunks.removeAll()
        firstChunk = 0
        bytes = 0
        firstSequence = nextSequence
    }
}
