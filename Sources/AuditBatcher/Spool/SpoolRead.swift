import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// A spool segment mapped shared into memory, unmapped when the last user lets go of it: the
/// spool while the segment is active, a read in progress, a prefault running ahead of the
/// appends. So a segment that is closed (or dropped) while a batch is read from its mapping on
/// another thread stays mapped until that read is done.
///
/// `@unchecked Sendable`: the pointer and the size never change. Bytes before the end the spool
/// published under its owner's lock hold whole records and are never written again; the spool
/// writes only past that end, which no reader reads. `populate` touches no byte.
final class SegmentMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let capacity: Int

    /// Maps `capacity` bytes of `descriptor` read-write, shared; nil where the system refuses.
    init?(descriptor: Int32, capacity: Int) {
        let map = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let map, map != MAP_FAILED else { return nil }
        base = map
        self.capacity = capacity
    }

    deinit { munmap(base, capacity) }

    /// `MADV_POPULATE_WRITE` (Linux 5.14): makes the pages writable in the page tables as a
    /// write would, without writing, so the appends that follow take no page fault. Where the
    /// kernel lacks it, or the range lies past the end of a file cut meanwhile, it does nothing
    /// (the call fails instead of faulting).
    private static let populateWrite: Int32 = 23

    /// Prefaults `range` (page-aligned by the caller). Returns whether the kernel did it.
    @discardableResult
    func populate(_ range: Range<Int>) -> Bool {
        guard range.lowerBound >= 0, range.upperBound <= capacity, !range.isEmpty else { return false }
        return madvise(base + range.lowerBound, range.count, Self.populateWrite) == 0
    }
}

/// A segment file opened for reading, closed when the read is done. Opened under the spool
/// owner's lock, so a segment dropped meanwhile is still read whole (its events are then
/// filtered out as dropped).
final class SpoolFile: Sendable {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw BatchSpool.Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }
}

/// A read of the spool's unacknowledged events, planned under the owner's lock by
/// ``BatchSpool/planRead(limit:)`` and performed without it by ``perform()``: reading a batch
/// from a closed segment's file takes about half a millisecond, and appends on the request path
/// must not wait for it. ``BatchSpool/finishRead(_:)`` then keeps what is still unacknowledged.
public struct SpoolRead: Sendable {
    enum Piece: Sendable {
        /// Records the memory tail held when the read was planned.
        case records([SpoolRecordRead])
        /// A segment's records between `offset` and `end` in its mapping, written by this process.
        case mapped(SegmentMapping, segment: UInt64, offset: Int, end: Int, first: UInt64, last: UInt64)
        /// A segment's records from `offset` in its file; with `verify`, checked against their
        /// CRCs (a segment recovered from an earlier process, which may have torn them).
        case file(SpoolFile, segment: UInt64, offset: Int, first: UInt64, last: UInt64, verify: Bool)
    }

    /// Where a read stopped: the record with `sequence` starts at `offset` in `segment`.
    struct Cursor: Sendable, Equatable {
        var segment: UInt64
        var offset: Int
        var sequence: UInt64
    }

    /// What a read found.
    public struct Outcome: Sendable {
        var records: [SpoolRecordRead]
        var cursor: Cursor?
    }

    let pieces: [Piece]
    let limit: Int
    let acknowledgedThrough: UInt64

    /// Reads the planned records, at most `limit`, skipping those acknowledged when planned.
    public func perform() throws -> Outcome {
        var result: [SpoolRecordRead] = []
        var cursor: Cursor?
        for piece in pieces where result.count < limit {
            switch piece {
            case .records(let records):
                result.append(contentsOf: records.prefix(limit - result.count))
            case .mapped(let mapping, let segment, let offset, let end, let first, let last):
                let memory = UnsafeRawBufferPointer(start: mapping.base, count: end)
                var position = Cursor(segment: segment, offset: offset, sequence: first)
                while result.count < limit, position.sequence <= last,
                    case .record(let payload, let next) = SpoolRecord.decode(memory, at: position.offset, verify: false)
                {
                    if position.sequence > acknowledgedThrough { result.append((position.sequence, Array(payload))) }
                    position = Cursor(segment: segment, offset: next, sequence: position.sequence + 1)
                    cursor = position
                }
            case .file(let file, let segment, let offset, let first, let last, let verify):
                let reader = FileRecordReader(file: file, offset: offset, verify: verify)
                var position = Cursor(segment: segment, offset: offset, sequence: first)
                while result.count < limit, position.sequence <= last, let (payload, size) = try reader.next() {
                    if position.sequence > acknowledgedThrough { result.append((position.sequence, payload)) }
                    position = Cursor(segment: segment, offset: position.offset + size, sequence: position.sequence + 1)
                    cursor = position
                }
            }
        }
        return Outcome(records: result, cursor: cursor)
    }
}

/// One event read back: its sequence number and payload.
public typealias SpoolRecordRead = (sequence: UInt64, payload: [UInt8])

/// Reads a segment file's records from an offset in chunks, so a batch read costs the batch,
/// not the whole segment.
private final class FileRecordReader {
    private let file: SpoolFile
    private var fileOffset: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var exhausted = false
    private let verify: Bool
    private static let chunk = 256 * 1024

    init(file: SpoolFile, offset: Int, verify: Bool) {
        self.file = file
        fileOffset = offset
        self.verify = verify
    }

    /// Reads the file from `fileOffset` into `destination`; returns how many bytes, 0 at its end.
    private func read(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let result = pread(file.descriptor, destination.baseAddress!, destination.count, off_t(fileOffset))
            if result >= 0 { return result }
            if errno != EINTR {
                throw BatchSpool.Failure(description: "spool read failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The next record's payload and its size on disk, or nil at the end (or a torn tail).
    func next() throws -> ([UInt8], Int)? {
        while true {
            switch SpoolRecord.decode(buffer, at: position, verify: verify) {
            case .record(let payload, let next):
                let size = next - position
                position = next
                return (Array(payload), size)
            case .end, .torn:
                if exhausted { return nil }
                let more = try [UInt8](unsafeUninitializedCapacity: Self.chunk) { bytes, count in
                    count = try read(into: UnsafeMutableRawBufferPointer(bytes))
                }
                if more.isEmpty { exhausted = true }
                buffer.removeFirst(position)
                position = 0
                buffer.append(contentsOf: more)
                fileOffset += more.count
            }
        }
    }
}
