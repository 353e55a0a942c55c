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

    /// Maps `capacity` bytes of `descriptor` from `offset` (page-aligned), shared: read-write
    /// for appending, or read-only for reading a batch back. Nil where the system refuses.
    init?(descriptor: Int32, offset: Int = 0, capacity: Int, writable: Bool = true) {
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        let map = mmap(nil, capacity, protection, MAP_SHARED, descriptor, off_t(offset))
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
        /// A closed segment's records between `offset` and `end` in its file, read where the file
        /// is mapped (a copy from the page cache in `read` cost more than the whole batch);
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
                let origin = offset - offset % SegmentMapping.pageSize
                guard end > offset else { continue }
                // A file cut shorter than its records (by hand, or a disk put right) must be an
                // error here: a mapping read past its end is a SIGBUS, which takes the proxy down.
                var status = stat()
                guard fstat(file.descriptor, &status) == 0, Int(status.st_size) >= end else {
                    throw BatchSpool.Failure(
                        description: "spool segment \(segment) is shorter than the records spooled in it")
                }
                guard
                    let view = SegmentMapping(
                        descriptor: file.descriptor, offset: origin, capacity: end - origin, writable: false)
                else {
                    throw BatchSpool.Failure(
                        description: "spool segment not readable: \(String(cString: strerror(errno)))")
                }
                withExtendedLifetime(view) {
                    read(
                        UnsafeRawBufferPointer(start: view.base, count: view.capacity), origin: origin,
                        from: Cursor(segment: segment, offset: offset, sequence: first), last: last, verify: verify,
                        into: &outcome)
                }
            }
        }
        return outcome
    }

    /// Reads records from `memory`, which holds a segment's bytes from `origin` on, starting at
    /// `start` and ending at the segment's `last` record, a torn one, or the limit.
    private func read(
        _ memory: UnsafeRawBufferPointer, origin: Int, from start: Cursor, last: UInt64, verify: Bool,
        into outcome: inout Outcome
    ) {
        var position = start
        while outcome.records.count < limit, position.sequence <= last,
            case .record(let payload, let next) = SpoolRecord.decode(
                memory, at: position.offset - origin, verify: verify)
        {
            if position.sequence > acknowledgedThrough { outcome.records.append((position.sequence, Array(payload))) }
            position = Cursor(segment: start.segment, offset: next + origin, sequence: position.sequence + 1)
            outcome.cursor = position
        }
    }
}

/// One event read back: its sequence number and payload.
public typealias SpoolRecordRead = (sequence: UInt64, payload: [UInt8])
