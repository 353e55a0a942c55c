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

    /// Maps `descriptor`'s first `capacity` bytes read-write, shared. Nil where the system refuses.
    private init?(descriptor: Int32, capacity: Int) {
        let map = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let map, map != MAP_FAILED else { return nil }
        base = map
        self.capacity = capacity
    }

    /// Reserves the file's first `capacity` bytes on disk (so a full disk fails here, not as a
    /// `SIGBUS` in a later copy), then maps them read-write. Nil where the system refuses either.
    convenience init?(reserving descriptor: Int32, capacity: Int) {
        guard posix_fallocate(descriptor, 0, off_t(capacity)) == 0 else { return nil }
        self.init(descriptor: descriptor, capacity: capacity)
    }

    deinit { munmap(base, capacity) }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

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
    let path: String

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw BatchSpool.Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    /// The file's `count` bytes from `offset`, read with `pread`: a disk that fails the read
    /// (EIO) is an error here, where through a mapping it was a `SIGBUS` that took the proxy
    /// down. So is a file shorter than that.
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let result = pread(
                    descriptor, buffer.baseAddress! + initialized, count - initialized, off_t(offset + initialized))
                if result < 0, errno == EINTR { continue }
                if result < 0 {
                    failure = String(cString: strerror(errno))
                    return
                }
                if result == 0 { return }
                initialized += result
            }
        }
        if let failure { throw BatchSpool.Failure(description: "cannot read \(path): \(failure)") }
        guard bytes.count == count else {
            throw BatchSpool.Failure(description: "\(path) is shorter than the records spooled in it")
        }
        return bytes
    }
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
        /// A closed segment's records between `offset` and `end` in its file, read with `pread`;
        /// with `verify`, checked against their CRCs (a segment recovered from an earlier
        /// process, which may have torn them).
        case file(SpoolFile, segment: UInt64, offset: Int, end: Int, first: UInt64, last: UInt64, verify: Bool)
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
        var outcome = Outcome(records: [], cursor: nil)
        for piece in pieces where outcome.records.count < limit {
            switch piece {
            case .records(let records):
                outcome.records.append(contentsOf: records.prefix(limit - outcome.records.count))
            case .mapped(let mapping, let segment, let offset, let end, let first, let last):
                let memory = UnsafeRawBufferPointer(start: mapping.base, count: end)
                read(
                    memory, origin: 0, from: Cursor(segment: segment, offset: offset, sequence: first), last: last,
                    verify: false, into: &outcome)
            case .file(let file, let segment, let offset, let end, let first, let last, let verify):
                try read(
                    file, from: Cursor(segment: segment, offset: offset, sequence: first), end: end, last: last,
                    verify: verify, into: &outcome)
            }
        }
        return outcome
    }

    /// How much of a closed segment one `pread` takes: a 400-event batch of Metadata events.
    static let fileChunk = 256 << 10

    /// Reads records from a closed segment's file between `start` and `end`, a chunk at a time:
    /// each chunk is copied out of the page cache, so only what the batch needs is read (a
    /// copy of the rest of the segment cost more than the whole batch). A record that the
    /// segment's index says is there but that is not whole is an error: its events and those
    /// after it cannot be read, and the batch must fail rather than be acknowledged without them.
    private func read(
        _ file: SpoolFile, from start: Cursor, end: Int, last: UInt64, verify: Bool, into outcome: inout Outcome
    ) throws {
        var position = start
        var want = Self.fileChunk
        while outcome.records.count < limit, position.sequence <= last {
            guard position.offset < end else {
                throw BatchSpool.Failure(
                    description: "\(file.path) holds fewer records than were spooled in it")
            }
            let bytes = try file.read(at: position.offset, count: min(want, end - position.offset))
            let reached = bytes.withUnsafeBytes { chunk in
                read(chunk, origin: position.offset, from: position, last: last, verify: verify, into: &outcome)
            }
            if reached != position {
                position = reached
                want = Self.fileChunk
                continue
            }
            // Not one whole record in the chunk: one larger than the chunk is read whole next;
            // anything else is damage.
            guard let length = SpoolRecord.declaredSize(bytes), length > bytes.count, position.offset + length <= end
            else {
                throw BatchSpool.Failure(
                    description: "\(file.path) is damaged at byte \(position.offset): its records from there on "
                        + "cannot be read")
            }
            want = length
        }
    }

    /// Reads records from `memory`, which holds a segment's bytes from `origin` on, starting at
    /// `start` and ending at the segment's `last` record, a record not whole in `memory` (torn,
    /// or cut by its end), or the limit. Returns where it stopped.
    @discardableResult
    private func read(
        _ memory: UnsafeRawBufferPointer, origin: Int, from start: Cursor, last: UInt64, verify: Bool,
        into outcome: inout Outcome
    ) -> Cursor {
        var position = start
        while outcome.records.count < limit, position.sequence <= last,
            case .record(let payload, let next) = SpoolRecord.decode(
                memory, at: position.offset - origin, verify: verify)
        {
            if position.sequence > acknowledgedThrough { outcome.records.append((position.sequence, Array(payload))) }
            position = Cursor(segment: start.segment, offset: next + origin, sequence: position.sequence + 1)
            outcome.cursor = position
        }
        return position
    }
}

/// One event read back: its sequence number and payload.
public typealias SpoolRecordRead = (sequence: UInt64, payload: [UInt8])
