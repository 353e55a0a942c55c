/// The on-disk framing of one spooled event: a marker byte, the payload length and its CRC-32
/// (little-endian), then the payload. A record cut short by a crash, or whose checksum does not
/// match, ends the readable part of its segment.
enum SpoolRecord {
    static let marker: UInt8 = 0xA5
    static let headerSize = 9
    /// No audit event comes near this; a larger length can only be corruption.
    static let maximumPayload = 64 << 20

    static func encode(_ payload: [UInt8]) -> [UInt8] {
        var record = [UInt8]()
        record.reserveCapacity(headerSize + payload.count)
        encode(payload, into: &record)
        return record
    }

    /// Appends the record for `payload` to `bytes` (several records go to disk in one write).
    static func encode(_ payload: some Collection<UInt8>, into bytes: inout [UInt8]) {
        bytes.append(marker)
        append(UInt32(payload.count), to: &bytes)
        append(CRC32.checksum(payload), to: &bytes)
        bytes.append(contentsOf: payload)
    }

    /// Writes the record for `payload` at `destination` (inside the spool's mapped segment);
    /// returns where the next record goes.
    static func write(_ payload: some Collection<UInt8>, at destination: UnsafeMutableRawPointer)
        -> UnsafeMutableRawPointer
    {
        let checksum = CRC32.checksum(payload)
        destination.storeBytes(of: marker, as: UInt8.self)
        destination.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 1, as: UInt32.self)
        destination.storeBytes(of: checksum.littleEndian, toByteOffset: 5, as: UInt32.self)
        func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let base = bytes.baseAddress else { return }
            (destination + headerSize).copyMemory(from: base, byteCount: bytes.count)
        }
        // Arrays and the audit step's lent buffers are contiguous; anything else is made so.
        if payload.withContiguousStorageIfAvailable(copy) == nil { Array(payload).withUnsafeBufferPointer(copy) }
        return destination + headerSize + payload.count
    }

    enum Decoded<Payload> {
        case record(payload: Payload, next: Int)
        /// The bytes from here on are not a whole, intact record.
        case torn
        case end
    }

    /// The record at `offset` in `bytes` (a segment's contents, or its mapping). `verify: false`
    /// skips the checksum, for segments this process wrote: their records went whole into the
    /// page cache, and nothing can have torn them.
    static func decode<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at offset: Int, verify: Bool = true)
        -> Decoded<Bytes.SubSequence> where Bytes.Index == Int
    {
        let end = bytes.endIndex
        if offset == end { return .end }
        guard end - offset >= headerSize, bytes[offset] == marker else { return .torn }
        let length = Int(read(bytes, at: offset + 1))
        let checksum = read(bytes, at: offset + 5)
        let start = offset + headerSize
        guard length <= maximumPayload, end - start >= length else { return .torn }
        let payload = bytes[start..<(start + length)]
        guard !verify || CRC32.checksum(payload) == checksum else { return .torn }
        return .record(payload: payload, next: start + length)
    }

    /// The size of the record `bytes` begin with (header and payload), as its header says;
    /// nil when they do not begin with a record's header.
    static func declaredSize(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= headerSize, bytes[0] == marker else { return nil }
        return headerSize + Int(read(bytes, at: 1))
    }

    /// Where the next intact record starts at or after `offset`, found by its marker and
    /// checksum: where a segment's records go on after damage in its middle (pages a machine
    /// crash lost, bytes rotted on disk). A false match needs a marker, a length that fits and a
    /// matching CRC-32 by chance. Empty records are not taken: no event is empty, and a marker
    /// before eight zero bytes (an empty payload's length and checksum) is what a record torn
    /// into a page of zeros looks like.
    static func nextIntact<Bytes: RandomAccessCollection<UInt8>>(in bytes: Bytes, from offset: Int) -> Int?
    where Bytes.Index == Int {
        var candidate = offset
        while candidate < bytes.endIndex, let found = bytes[candidate...].firstIndex(of: marker) {
            if case .record(let payload, _) = decode(bytes, at: found), !payload.isEmpty { return found }
            candidate = found + 1
        }
        return nil
    }

    /// What recovery finds in a segment's bytes: the runs of intact records, in order, and how
    /// many damaged stretches lie between or after them. Zeros after the last record are space
    /// reserved for records never written (a mapped segment's end), not damage.
    struct Scan: Equatable {
        var runs: [Range<Int>] = []
        var records = 0
        var damaged = 0
        /// The records before the first damaged stretch that has records after it; nil when
        /// none has. The ones after it are numbered as if it had held none.
        var recordsBeforeDamage: Int?
        /// Where the last intact record ends.
        var end: Int { runs.last?.upperBound ?? 0 }
        /// The bytes the intact records take.
        var bytes: Int { runs.reduce(0) { $0 + $1.count } }
        /// Whether the intact records are one run from the segment's start: what follows them
        /// can be cut off, rather than the records copied out.
        var startsWhole: Bool { runs.count <= 1 && (runs.first?.lowerBound ?? 0) == 0 }
    }

    static func scan<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Scan where Bytes.Index == Int {
        var scan = Scan()
        var offset = bytes.startIndex
        var runStart = offset
        scanning: while true {
            switch decode(bytes, at: offset) {
            case .record(_, let next):
                offset = next
                scan.records += 1
            case .end:
                break scanning
            case .torn:
                if bytes[offset...].allSatisfy({ $0 == 0 }) { break scanning }
                scan.damaged += 1
                guard let resume = nextIntact(in: bytes, from: offset + 1) else { break scanning }
                if scan.recordsBeforeDamage == nil { scan.recordsBeforeDamage = scan.records }
                if offset > runStart { scan.runs.append(runStart..<offset) }
                runStart = resume
                offset = resume
            }
        }
        if offset > runStart { scan.runs.append(runStart..<offset) }
        return scan
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    private static func read<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at offset: Int) -> UInt32
    where Bytes.Index == Int {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32($1 * 8) }
    }
}

extension SpoolRecord.Decoded: Equatable where Payload: Equatable {}
