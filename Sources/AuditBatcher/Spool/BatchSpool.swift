import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The durable audit spool: every accepted event is appended here before the request completes,
/// and stays until a sink acknowledged it, so a crash or restart loses nothing.
///
/// Events live in append-only segment files named by the sequence number of their first record;
/// `acknowledged` holds the highest sequence number a sink confirmed (one line, overwritten).
/// A segment whose records are all acknowledged is deleted. Past `maxBytes` the oldest segment
/// is dropped and its unacknowledged events counted in ``droppedEvents``. A record torn by a
/// crash (short, or failing its CRC) is cut off on recovery and never corrupts the rest.
///
/// `append` writes through to the kernel, which survives the process being killed; ``sync()``
/// (fsync) is what survives the machine going down, and the caller decides how often to pay
/// for it. Not thread-safe: one owner (the audit shipper) uses it.
///
/// The segment being appended to is reserved whole on disk (`posix_fallocate`) and mapped
/// shared, so an append is a copy into the page cache instead of a `write` per exchange: as
/// durable against a killed process, at a fraction of the cost on the request path. Reserving
/// first means a full disk fails when a segment starts, with an error, never as a `SIGBUS` in
/// the middle of a copy. Where the file system refuses either, appends fall back to `pwrite`.
/// The next segment is made ready the same way in the background while the active one fills,
/// so starting one is a rename. A segment is cut back to its records when it is closed; after a
/// crash, recovery cuts the zeros that were reserved and never written (they are not counted as
/// torn records). Batches are read back from the mapping too, so the newest events are in
/// memory without a copy. On disk the spool takes up to `maxBytes` of records plus the active
/// and the next segment's reservations.
public final class BatchSpool {
    public struct Configuration: Sendable {
        public var directory: String
        public var maxBytes: UInt64
        public var segmentBytes: Int
        /// Where segments are written rather than mapped: the newest payloads also kept in
        /// memory, up to this many bytes, so that reading a batch soon after its events were
        /// appended does not touch the disk. 0: none. (A mapped segment is read in memory.)
        public var memoryBytes: Int
        /// Off: appends always `pwrite`, as where the file system cannot reserve or map (for tests).
        var mapsSegments = true
        /// Off: the active mapping's pages are not prefaulted ahead of the appends (for tests).
        var prefaultsSegments = true
        /// Off: the next segment is not made ready in the background (for tests).
        var preparesSegments = true

        public init(
            directory: String, maxBytes: UInt64 = 256 << 20, segmentBytes: Int = 8 << 20, memoryBytes: Int = 0
        ) {
            self.directory = directory
            self.maxBytes = maxBytes
            self.segmentBytes = segmentBytes
            self.memoryBytes = memoryBytes
        }
    }

    /// What recovery found on start.
    public struct Recovery: Sendable, Equatable {
        public var unacknowledgedEvents: Int
        public var tornRecords: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The event was refused and counted in ``droppedEvents`` already (it is larger than the
        /// whole spool); any other failure leaves counting it to the caller.
        public var countedAsDropped = false
    }

    private struct Segment {
        let firstSequence: UInt64
        var count: UInt64
        var bytes: UInt64
        var path: String
        /// Written by this process: its records went whole into the page cache, and read back
        /// need no checksum. A recovered segment's records are checked.
        var writtenHere = true
        var lastSequence: UInt64? { count == 0 ? nil : firstSequence + count - 1 }
    }

    public let configuration: Configuration
    public private(set) var recovery = Recovery(unacknowledgedEvents: 0, tornRecords: 0)
    /// Events dropped: to make room in the full spool, refused as larger than the whole spool,
    /// or lost with a segment file that was gone.
    public private(set) var droppedEvents: UInt64 = 0
    /// Of ``droppedEvents``, those dropped to make room: what the full spool cost, as opposed
    /// to one event refused or a segment gone (which their callers report as such).
    public private(set) var droppedForRoom: UInt64 = 0
    private var segments: [Segment] = []
    private var acknowledgedThrough: UInt64 = 0
    private var nextSequence: UInt64 = 1
    private var activeDescriptor: Int32 = -1
    /// Appended to since the active segment was last synced.
    private var activeUnsynced = false
    /// Segments closed with appends not yet synced, their descriptors kept open until the next
    /// sync or until their events leave the spool, whichever comes first.
    private var closedUnsynced: [(segment: UInt64, descriptor: Int32)] = []
    /// The `acknowledged` file, open once it is first written.
    private var checkpointDescriptor: Int32 = -1
    /// `<directory>/lock`, held (`flock`) for the spool's life: one process per directory.
    private var lockDescriptor: Int32 = -1
    /// Checkpoints that could not be written while the full spool dropped events: the events
    /// go on being stored, and a restart sends some again (for the owner to report).
    public private(set) var checkpointFailures = 0
    /// Closed segments found gone when a read wanted them (deleted by hand, or the directory
    /// removed): their events are counted as dropped, and shipping goes on without them.
    public private(set) var missingSegments = 0
    /// A segment was named in the directory since the last sync.
    private var directoryUnsynced = false
    /// The active segment's mapping; nil when appends use `pwrite`.
    private var active: SegmentMapping?
    /// How far into the active mapping pages were handed to the prefaulter.
    private var prefaultedThrough = 0
    /// Prefaults and segment removals run in the background, off the appending thread (and
    /// outside the shipper's lock); tests wait for them, and so does `deinit`.
    private let background = DispatchGroup()
    /// The next segment, made ready in the background while the active one fills.
    private let nextSegment = SegmentPreparation()
    /// Segments started from one made ready in the background (for tests).
    private(set) var preparedSegmentsUsed = 0
    /// Where the last read stopped.
    private var cursor: SpoolRead.Cursor?
    private var tail: SpoolTail

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        tail = SpoolTail(maxBytes: configuration.memoryBytes, nextSequence: 1)
        try FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
        lockDescriptor = try Self.lock(configuration.directory)
        try recover()
        tail = SpoolTail(maxBytes: configuration.memoryBytes, nextSequence: nextSequence)
    }

    deinit {
        closeActiveSegment()
        for closed in closedUnsynced { close(closed.descriptor) }
        if checkpointDescriptor >= 0 { close(checkpointDescriptor) }
        background.wait()
        if lockDescriptor >= 0 { close(lockDescriptor) }
        nextSegment.discard()
    }

    /// Bytes on disk in segment files.
    /// (Kept as a running total: every append reads it, and a full spool has dozens of segments.)
    public private(set) var spooledBytes: UInt64 = 0

    /// The segments' bytes summed afresh, which ``spooledBytes`` must equal (for tests).
    var recountedBytes: UInt64 { segments.reduce(0) { $0 + $1.bytes } }

    /// The highest sequence number acknowledged (or dropped); 0 before any.
    public var acknowledgedSequence: UInt64 { acknowledgedThrough }

    /// The sequence number of the last event appended; 0 before any.
    public var lastSequence: UInt64 { nextSequence - 1 }

    /// Events appended and not yet acknowledged (nor dropped).
    public var unacknowledgedCount: UInt64 {
        segments.reduce(0) { total, segment in
            guard let last = segment.lastSequence, last > acknowledgedThrough else { return total }
            return total + (last - max(segment.firstSequence, acknowledgedThrough + 1) + 1)
        }
    }

    /// Appends one event; returns its sequence number. Makes room by dropping the oldest
    /// segment when the spool would grow past `maxBytes`.
    @discardableResult
    public func append(_ payload: [UInt8]) throws -> UInt64 {
        let recordSize = SpoolRecord.headerSize + payload.count
        guard UInt64(recordSize) <= configuration.maxBytes else {
            droppedEvents += 1
            throw Failure(
                description: "event of \(payload.count) bytes is larger than the whole spool", countedAsDropped: true)
        }
        // Recovered segments are never appended to: new events start a segment of their own.
        if activeDescriptor < 0
            || segments[segments.count - 1].bytes + UInt64(recordSize) > UInt64(configuration.segmentBytes)
        {
            try startSegment(capacity: recordSize)
        }
        while spooledBytes + UInt64(recordSize) > configuration.maxBytes, segments.count > 1 {
            forgetSegment(at: 0)
        }
        if spooledBytes + UInt64(recordSize) > configuration.maxBytes {
            // Only the active segment is left and it is full: start afresh, then drop it.
            try startSegment(capacity: recordSize)
            forgetSegment(at: 0)
        }
        try store(payload)
        activeUnsynced = true
        let sequence = nextSequence
        nextSequence += 1
        segments[segments.count - 1].count += 1
        segments[segments.count - 1].bytes += UInt64(recordSize)
        spooledBytes += UInt64(recordSize)
        if active == nil { tail.append(payload, sequence: sequence) } else { prefaultAhead() }
        return sequence
    }

    /// Appends the events of one exchange with a single write (one syscall per request, not one
    /// per event) when they fit in the active segment and the spool has room, the usual case.
    /// Returns false, having written nothing, when they do not: the caller appends them one by
    /// one with ``append(_:)``, which makes room. A failed write appends none of them.
    public func appendTogether<Payload: Collection<UInt8>>(_ payloads: some Collection<Payload>) throws -> Bool {
        let total = payloads.reduce(0) { $0 + SpoolRecord.headerSize + $1.count }
        guard activeDescriptor >= 0,
            segments[segments.count - 1].bytes + UInt64(total) <= UInt64(configuration.segmentBytes),
            spooledBytes + UInt64(total) <= configuration.maxBytes
        else { return false }
        if let active {
            // One pass: each record is copied into the mapping and counted.
            var offset = Int(segments[segments.count - 1].bytes)
            precondition(offset + total <= active.capacity, "spool segment mapping overrun")
            for payload in payloads { offset = SpoolRecord.write(payload, at: active.base + offset) - active.base }
            segments[segments.count - 1].count += UInt64(payloads.count)
            segments[segments.count - 1].bytes += UInt64(total)
            spooledBytes += UInt64(total)
            nextSequence += UInt64(payloads.count)
            activeUnsynced = true
            prefaultAhead()
            return true
        }
        var records = [UInt8]()
        records.reserveCapacity(total)
        for payload in payloads { SpoolRecord.encode(payload, into: &records) }
        try writeAll(records)
        activeUnsynced = true
        for payload in payloads {
            segments[segments.count - 1].count += 1
            tail.append(Array(payload), sequence: nextSequence)
            nextSequence += 1
        }
        segments[segments.count - 1].bytes += UInt64(total)
        spooledBytes += UInt64(total)
        return true
    }

    /// Unacknowledged events in order, oldest first, at most `limit` of them. Reading resumes
    /// where the previous read stopped when that is still the first unacknowledged event, so a
    /// sink draining the spool batch by batch does not re-read what it already sent.
    public func unacknowledged(limit: Int) throws -> [SpoolRecordRead] {
        finishRead(try planRead(limit: limit).perform())
    }

    /// The read of at most `limit` unacknowledged events, for another thread to perform without
    /// the owner's lock (``SpoolRead/perform()``), then to hand back to ``finishRead(_:)``. The
    /// records it reads stay readable meanwhile, whatever the spool does: the files are open,
    /// the mappings held. Only one read may be in progress at a time.
    public func planRead(limit: Int) throws -> SpoolRead {
        // The tail, when it holds anything, reaches the last event appended (it is emptied when a
        // mapped segment starts), so when it holds the first unacknowledged one it holds all that
        // can be asked for.
        if let recent = tail.payloads(from: acknowledgedThrough + 1, limit: limit) {
            return SpoolRead(pieces: [.records(recent)], limit: limit, acknowledgedThrough: acknowledgedThrough)
        }
        var pieces: [SpoolRead.Piece] = []
        var planned: UInt64 = 0
        var missing: [UInt64] = []
        defer { for first in missing { forgetMissingSegment(first) } }
        for segment in segments {
            guard planned < UInt64(limit), let last = segment.lastSequence, last > acknowledgedThrough else { continue }
            var position = (offset: 0, sequence: segment.firstSequence)
            if let cursor, cursor.segment == segment.firstSequence, cursor.sequence <= acknowledgedThrough + 1 {
                position = (cursor.offset, cursor.sequence)
            }
            planned += last - max(position.sequence, acknowledgedThrough + 1) + 1
            // The segment being appended to is read where it is mapped, in memory, up to the
            // records it holds now.
            if segment.firstSequence == segments.last?.firstSequence, let active {
                pieces.append(
                    .mapped(
                        active, segment: segment.firstSequence, offset: position.offset, end: Int(segment.bytes),
                        first: position.sequence, last: last))
            } else {
                let file: SpoolFile
                do {
                    file = try SpoolFile(path: segment.path)
                } catch {
                    // Gone: every read would fail on it, and shipping would stall until a restart.
                    guard !FileManager.default.fileExists(atPath: segment.path) else { throw error }
                    missing.append(segment.firstSequence)
                    planned -= last - max(position.sequence, acknowledgedThrough + 1) + 1
                    continue
                }
                pieces.append(
                    .file(
                        file, segment: segment.firstSequence, offset: position.offset, end: Int(segment.bytes),
                        first: position.sequence, last: last, verify: !segment.writtenHere))
            }
        }
        return SpoolRead(pieces: pieces, limit: limit, acknowledgedThrough: acknowledgedThrough)
    }

    /// What `outcome` read that is still unacknowledged (the full spool may have dropped some
    /// meanwhile); the next read resumes where it stopped.
    public func finishRead(_ outcome: SpoolRead.Outcome) -> [SpoolRecordRead] {
        if let stop = outcome.cursor, segments.contains(where: { $0.firstSequence == stop.segment }) {
            cursor = stop
        }
        guard let first = outcome.records.first, first.sequence <= acknowledgedThrough else { return outcome.records }
        return outcome.records.filter { $0.sequence > acknowledgedThrough }
    }

    /// Records that a sink accepted every event up to `sequence`; deletes segments no longer needed.
    public func acknowledge(through sequence: UInt64) throws {
        guard sequence > acknowledgedThrough else { return }
        acknowledgedThrough = min(sequence, nextSequence - 1)
        tail.remove(through: acknowledgedThrough)
        // Deleted before the checkpoint is written: a checkpoint that cannot be written must not
        // keep acknowledged segments on disk (the spool would sit full and a restart resend them
        // all); one behind the oldest segment left is moved up to it on recovery.
        while segments.count > 1, let last = segments[0].lastSequence, last <= acknowledgedThrough {
            forgetSegment(at: 0)
        }
        try writeCheckpoint()
    }

    /// Forces appended events to stable storage: the active segment's, and those of segments
    /// closed since the last sync whose events are still here.
    public func sync() throws {
        try deferredSync()?()
    }

    /// The same sync, for another thread to run while the owner goes on appending (an fsync can
    /// take milliseconds). Call it exactly once: it closes the descriptors it took. Nil when
    /// nothing was appended since the last sync.
    public func deferredSync() -> (@Sendable () throws -> Void)? {
        var descriptors = closedUnsynced.map(\.descriptor)
        closedUnsynced = []
        if activeUnsynced, activeDescriptor >= 0 {
            let descriptor = dup(activeDescriptor)
            if descriptor >= 0 { descriptors.append(descriptor) }
        }
        activeUnsynced = false
        guard !descriptors.isEmpty else { return nil }
        // A segment's name (its creation, or the rename of a prepared one) is an entry in the
        // directory: synced after the files, or a power loss could keep synced records under a
        // name recovery deletes, or under none.
        if directoryUnsynced {
            let directory = open(configuration.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                descriptors.append(directory)
                directoryUnsynced = false
                directorySyncs += 1
            }
        }
        return { [descriptors] in
            var failure: String?
            for descriptor in descriptors {
                if fsync(descriptor) != 0, failure == nil { failure = String(cString: strerror(errno)) }
                close(descriptor)
            }
            if let failure { throw Failure(description: "fsync failed: \(failure)") }
        }
    }

    /// Whether records are here that no sync covered yet: appended since the last one, or
    /// recovered from a process that may not have synced them.
    public var hasUnsyncedRecords: Bool { unsyncedSegments > 0 }

    /// Syncs that covered the directory, after a segment was named in it (for tests).
    private(set) var directorySyncs = 0

    /// Segments appended to (or recovered) since the last sync whose events are still here (for tests).
    var unsyncedSegments: Int { closedUnsynced.count + (activeUnsynced ? 1 : 0) }

    // MARK: private

    private var checkpointPath: String { configuration.directory + "/acknowledged" }

    private func segmentPath(_ firstSequence: UInt64) -> String {
        configuration.directory + "/" + String(format: "segment-%020llu.spool", firstSequence)
    }

    /// Starts a segment that holds at least `capacity` bytes (more than a segment for a record
    /// larger than one), reserved and mapped when the file system allows.
    private func startSegment(capacity: Int) throws {
        closeActiveSegment()
        // An active segment left empty (an append failed right after starting it) is named for
        // the next sequence number, as the new one will be: the new one takes its file and its
        // place. Two entries for one file stopped acknowledgements from deleting any segment, and
        // let a later drop unlink the live one.
        if let last = segments.last, last.count == 0, last.firstSequence == nextSequence {
            forgetSync(of: last.firstSequence)
            segments.removeLast()
        }
        let path = segmentPath(nextSequence)
        if capacity <= configuration.segmentBytes, let ready = nextSegment.take() {
            // Made ready in the background: it only takes its name. (Before, reserving, mapping
            // and faulting in a fresh segment cost the appending thread milliseconds, with the
            // shipper's lock held, every 8 MiB.)
            if rename(ready.path, path) == 0 {
                directoryUnsynced = true
                activeDescriptor = ready.descriptor
                segments.append(Segment(firstSequence: nextSequence, count: 0, bytes: 0, path: path))
                adopt(ready.mapping, prefaultedThrough: ready.prefaulted)
                preparedSegmentsUsed += 1
                return
            }
            ready.discard()
        }
        activeDescriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if activeDescriptor < 0 && errno == ENOENT {
            // The directory was removed under the running spool: made anew, or every event from
            // here on would be refused until a restart.
            try? FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
            activeDescriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        }
        guard activeDescriptor >= 0 else {
            throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        directoryUnsynced = true
        segments.append(Segment(firstSequence: nextSequence, count: 0, bytes: 0, path: path))
        mapActiveSegment(capacity: max(configuration.segmentBytes, capacity))
    }

    private func mapActiveSegment(capacity: Int) {
        guard configuration.mapsSegments, let mapping = SegmentMapping(reserving: activeDescriptor, capacity: capacity)
        else {
            // No room for a whole segment, or no support: appends write, and fail as writes do.
            _ = ftruncate(activeDescriptor, 0)
            return
        }
        adopt(mapping, prefaultedThrough: 0)
    }

    /// Appends go into `mapping` (the active segment's) from now on.
    private func adopt(_ mapping: SegmentMapping, prefaultedThrough prefaulted: Int) {
        active = mapping
        prefaultedThrough = prefaulted
        prefaultAhead()
        // The mapping now holds the newest events in memory; the tail (for segments that are
        // written) must not hold older ones, or it would answer reads it cannot finish.
        tail.remove(through: nextSequence - 1)
    }

    /// Cuts the active segment's reserved, unwritten end, lets go of its mapping (unmapped once
    /// no read or prefault holds it) and closes it.
    private func closeActiveSegment() {
        guard activeDescriptor >= 0 else { return }
        if let retiring = active {
            active = nil
            _ = ftruncate(activeDescriptor, off_t(segments.last?.bytes ?? 0))
            // Unmapping megabytes takes a while: the background queue lets go of it (unmapped
            // there, unless a read still holds it).
            Self.backgroundQueue.async(group: background) { withExtendedLifetime(retiring) {} }
        }
        if activeUnsynced, let segment = segments.last?.firstSequence {
            closedUnsynced.append((segment, activeDescriptor))
        } else {
            close(activeDescriptor)
        }
        activeUnsynced = false
        activeDescriptor = -1
    }

    /// A segment's events left the spool: it needs no sync any more.
    /// Takes a closed segment whose file is gone out of the index, its unacknowledged events
    /// counted as dropped; when it was the oldest, what is acknowledged moves past it.
    private func forgetMissingSegment(_ first: UInt64) {
        guard let index = segments.firstIndex(where: { $0.firstSequence == first }), index < segments.count - 1
        else { return }
        forgetSegment(at: index, fileIsGone: true)
        missingSegments += 1
    }

    /// Takes the segment at `index` out of the index, its file removed (unless already gone).
    /// Its events not yet acknowledged count as dropped; when it was the oldest, what is
    /// acknowledged moves past it. The checkpoint is written after the file is removed, and
    /// one that cannot be written costs nothing but a resend after a restart (at-least-once
    /// delivery allows it), so it fails no append.
    private func forgetSegment(at index: Int, fileIsGone: Bool = false) {
        let gone = segments.remove(at: index)
        spooledBytes -= gone.bytes
        forgetSync(of: gone.firstSequence)
        if !fileIsGone { remove(gone.path) }
        guard let last = gone.lastSequence, last > acknowledgedThrough else { return }
        let unacknowledged = last - max(gone.firstSequence, acknowledgedThrough + 1) + 1
        droppedEvents += unacknowledged
        if !fileIsGone { droppedForRoom += unacknowledged }
        guard index == 0 else { return }
        acknowledgedThrough = last
        tail.remove(through: last)
        do { try writeCheckpoint() } catch { checkpointFailures += 1 }
    }

    private func forgetSync(of segment: UInt64) {
        guard let index = closedUnsynced.firstIndex(where: { $0.segment == segment }) else { return }
        close(closedUnsynced.remove(at: index).descriptor)
    }

    /// How far ahead of the appends the active mapping's pages are prefaulted, in the background.
    /// A write fault on a fresh page of a reserved ext4 file costs several microseconds (block
    /// mapping, buffer heads); one exchange in three took one on the request path.
    static let prefaultChunk = 256 << 10
    private static let backgroundQueue = DispatchQueue(label: "kube-oidc-proxy.audit-spool", qos: .utility)

    /// Hands the next pages of the active mapping to the prefaulter when the appends come within
    /// half a chunk of what is prefaulted. A prefault that falls behind costs nothing but the
    /// faults it would have saved.
    private func prefaultAhead() {
        prepareNextSegment()
        guard configuration.prefaultsSegments, let active, prefaultedThrough < active.capacity else { return }
        let written = Int(segments[segments.count - 1].bytes)
        guard written + Self.prefaultChunk / 2 >= prefaultedThrough else { return }
        let from = max(prefaultedThrough, written - written % SegmentMapping.pageSize)
        let to = min(active.capacity, from + Self.prefaultChunk)
        prefaultedThrough = to
        Self.backgroundQueue.async(group: background) { active.populate(from..<to) }
    }

    /// Once the active segment is half full, makes the next one ready in the background: a file
    /// reserved, mapped and its first pages prefaulted, under a name recovery deletes. The
    /// segment that follows takes it over with a rename.
    private func prepareNextSegment() {
        guard configuration.preparesSegments, let active,
            Int(segments[segments.count - 1].bytes) * 2 >= active.capacity, nextSegment.start()
        else { return }
        let path = configuration.directory + "/" + Self.preparedName
        let bytes = configuration.segmentBytes
        let prefault = configuration.prefaultsSegments ? Self.prefaultChunk : 0
        Self.backgroundQueue.async(group: background) { [nextSegment] in
            nextSegment.finish(PreparedSegment(path: path, capacity: bytes, prefault: prefault))
        }
    }

    /// The next segment's file while it is made ready; never holds events.
    static let preparedName = "next-segment.spool.tmp"

    /// Deletes a segment whose events are all acknowledged or dropped, in the background: an
    /// unlink that frees megabytes takes ext4 a while, and appends (on the request path) wait
    /// for whoever holds the shipper's lock. Its events are acknowledged (the checkpoint says so
    /// next), so a file a crash leaves behind, or that fails to go, is deleted by the next
    /// start's recovery.
    private func remove(_ path: String) {
        Self.backgroundQueue.async(group: background) { _ = unlink(path) }
    }

    /// Waits until the prefaults and removals started so far are done (for tests).
    func waitForBackgroundWork() { background.wait() }

    /// Puts `payload`'s record at the end of the active segment: straight into its mapping, or
    /// encoded and written.
    private func store(_ payload: [UInt8]) throws {
        guard let active else { return try writeAll(SpoolRecord.encode(payload)) }
        let offset = Int(segments[segments.count - 1].bytes)
        precondition(
            offset + SpoolRecord.headerSize + payload.count <= active.capacity, "spool segment mapping overrun")
        _ = SpoolRecord.write(payload, at: active.base + offset)
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        let start = off_t(segments[segments.count - 1].bytes)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                pwrite(activeDescriptor, buffer.baseAddress! + written, bytes.count - written, start + off_t(written))
            }
            if result < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                // A part written (the disk filled up mid-record) would read as a torn record and
                // hide every later one in the segment: cut the segment back to its last whole record.
                if written > 0 { _ = ftruncate(activeDescriptor, start) }
                throw Failure(description: "spool write failed: \(reason)")
            }
            written += result
        }
    }

    /// Overwrites the checkpoint in place: one fixed-width line, one `pwrite` on a descriptor
    /// kept open. (Writing a new file and renaming it over the old cost a journalled rename per
    /// batch, about 1.5 µs per exchange at the benchmark's batch rate; Foundation's file writing
    /// also fsynced.) Twenty-one bytes at offset 0 lie in one sector and one page, so they are
    /// replaced whole; and a checkpoint that a machine crash leaves stale or unreadable only
    /// means its events are sent again, which at-least-once delivery allows.
    private func writeCheckpoint() throws {
        if checkpointDescriptor < 0 {
            checkpointDescriptor = open(checkpointPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            guard checkpointDescriptor >= 0 else {
                throw Failure(description: "cannot write \(checkpointPath): \(String(cString: strerror(errno)))")
            }
            // Written in place from here on: whatever longer text was there must not follow it,
            // or the checkpoint never parses again and every restart resends the whole spool.
            _ = ftruncate(checkpointDescriptor, 21)
        }
        let text = Array(String(format: "%020llu\n", acknowledgedThrough).utf8)
        let written = text.withUnsafeBytes { pwrite(checkpointDescriptor, $0.baseAddress!, $0.count, 0) }
        guard written == text.count else {
            throw Failure(description: "cannot write \(checkpointPath): \(String(cString: strerror(errno)))")
        }
    }

    /// Opens and locks `<directory>/lock`: a second process on the same directory (two replicas
    /// on one volume, or the old and new pod of a rollout on a hostPath) would cut the first
    /// one's mapped segment under it (a SIGBUS) and overwrite its files. Opening it also shows
    /// that the directory is writable, which an existing read-only one would not have shown
    /// until every event was refused. A POSIX record lock, owned by the process: one proxy per
    /// directory, while a process's own spools (a test's restarts) do not lock each other out.
    private static func lock(_ directory: String) throws -> Int32 {
        let path = directory + "/lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot write in \(directory): \(String(cString: strerror(errno)))")
        }
        var whole = flock()
        whole.l_type = Int16(F_WRLCK)
        whole.l_whence = Int16(SEEK_SET)
        guard fcntl(descriptor, F_SETLK, &whole) == 0 else {
            let reason =
                errno == EAGAIN || errno == EACCES ? "another process is using it" : String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "cannot lock \(directory): \(reason) (one proxy per spool directory)")
        }
        return descriptor
    }

    /// A segment file's bytes; nil when it no longer exists (an earlier spool on this directory
    /// was removing it in the background as this one opened).
    private static func contents(of path: String) throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !FileManager.default.fileExists(atPath: path) { return nil }
            throw Failure(description: "cannot read \(path)")
        }
        return Array(data)
    }

    /// Replaces the segment at `path` with the `runs` of its `bytes` (its intact records), by a
    /// synced copy renamed over it: a crash on the way leaves the segment as it was, and the
    /// copy's name (`….spool.tmp`) is deleted by the next recovery.
    ///
    /// Records are numbered by their place in the segment, so the records after a damaged
    /// stretch move down by the records it held; recovery lowers a checkpoint past the damage
    /// first, so that none of them is taken for sent.
    private static func rewrite(_ path: String, keeping runs: [Range<Int>], of bytes: [UInt8]) throws {
        let copy = path + ".tmp"
        let descriptor = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot write \(copy): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var offset: off_t = 0
        for run in runs {
            var written = 0
            while written < run.count {
                let result = bytes.withUnsafeBytes { buffer in
                    pwrite(descriptor, buffer.baseAddress! + run.lowerBound + written, run.count - written, offset)
                }
                if result < 0, errno == EINTR { continue }
                guard result > 0 else {
                    unlink(copy)
                    throw Failure(description: "cannot write \(copy): \(String(cString: strerror(errno)))")
                }
                written += result
                offset += off_t(result)
            }
        }
        guard fsync(descriptor) == 0, rename(copy, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(copy)
            throw Failure(description: "cannot replace \(path) with its intact records: \(reason)")
        }
    }

    /// Rebuilds the index from the files, cutting torn tails and deleting acknowledged segments.
    private func recover() throws {
        if let text = try? String(contentsOfFile: checkpointPath, encoding: .utf8),
            let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            acknowledgedThrough = value
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: configuration.directory)
        // A segment made ready for a process that ended before using it: no events in it.
        // And a segment's copy that a crash left half made while damage was cut out of it.
        for name in names
        where name == Self.preparedName || (name.hasPrefix("segment-") && name.hasSuffix(".spool.tmp")) {
            try? FileManager.default.removeItem(atPath: configuration.directory + "/" + name)
        }
        let found =
            names.compactMap { name -> UInt64? in
                guard name.hasPrefix("segment-"), name.hasSuffix(".spool") else { return nil }
                return UInt64(name.dropFirst("segment-".count).dropLast(".spool".count))
            }.sorted()
        var torn = 0
        for first in found {
            let path = segmentPath(first)
            guard let bytes = try Self.contents(of: path) else { continue }
            let scan = SpoolRecord.scan(bytes)
            torn += scan.damaged
            if !scan.startsWhole {
                // Damage in the middle (pages a machine crash lost, bytes rotted): the records
                // after it are kept, not cut off with it. They take the numbers of the records
                // the damage held, unknown in count: a checkpoint past the damage would take some
                // of them for sent, so it goes back to before it (what was sent after it is sent
                // again), durably before the segment is rewritten.
                let renumbered = first + UInt64(scan.recordsBeforeDamage ?? 0)
                if acknowledgedThrough >= renumbered {
                    acknowledgedThrough = renumbered - 1
                    try writeCheckpoint()
                    guard fsync(checkpointDescriptor) == 0 else {
                        throw Failure(
                            description: "cannot sync \(checkpointPath): \(String(cString: strerror(errno)))")
                    }
                }
                try Self.rewrite(path, keeping: scan.runs, of: bytes)
                directoryUnsynced = true
            } else if scan.end < bytes.count {
                // A torn last record, or the zeros reserved after the last record of a segment
                // that was mapped when the process died.
                guard truncate(path, off_t(scan.end)) == 0 else {
                    throw Failure(description: "cannot cut the torn record from \(path)")
                }
            }
            let count = UInt64(scan.records)
            if count == 0 {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            let last = first + count - 1
            nextSequence = max(nextSequence, last + 1)
            if last <= acknowledgedThrough {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            segments.append(
                Segment(
                    firstSequence: first, count: count, bytes: UInt64(scan.bytes), path: path, writtenHere: false))
            spooledBytes += UInt64(scan.bytes)
            // What a killed process left may be in the page cache alone: owed a sync like a
            // segment this process closed.
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 { closedUnsynced.append((first, descriptor)) }
        }
        nextSequence = max(nextSequence, acknowledgedThrough + 1)
        // Events before the oldest segment left are gone (acknowledged, or in a checkpoint lost
        // or left stale by a crash): nothing to send for them, nor empty batches to read.
        if let oldest = segments.first, oldest.firstSequence > acknowledgedThrough + 1 {
            acknowledgedThrough = oldest.firstSequence - 1
        }
        recovery = Recovery(unacknowledgedEvents: Int(unacknowledgedCount), tornRecords: torn)
    }
}

/// A segment file made ready off the appending thread (``BatchSpool``'s next segment): reserved
/// whole, mapped, its first pages prefaulted. Nil where the file system refuses either.
final class PreparedSegment: Sendable {
    let path: String
    let descriptor: Int32
    let mapping: SegmentMapping
    /// How far its pages were prefaulted.
    let prefaulted: Int

    init?(path: String, capacity: Int, prefault: Int) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return nil }
        guard let mapping = SegmentMapping(reserving: descriptor, capacity: capacity) else {
            close(descriptor)
            unlink(path)
            return nil
        }
        self.path = path
        self.descriptor = descriptor
        self.mapping = mapping
        let chunk = min(prefault, capacity)
        prefaulted = chunk > 0 && mapping.populate(0..<chunk) ? chunk : 0
    }

    /// Not used after all: closed and deleted.
    func discard() {
        close(descriptor)
        unlink(path)
    }
}

/// The hand-over of the next segment between the background queue that makes it ready and the
/// spool's owner that takes it. At most one is made ready at a time.
final class SegmentPreparation: Sendable {
    private enum State {
        case none
        case preparing
        case ready(PreparedSegment)
        /// The file system would not reserve or map one: segments start on the appending thread.
        case refused
    }

    private let state = Mutex(State.none)

    /// Whether to start making one ready: not while one is being made or waits.
    func start() -> Bool {
        state.withLock { state in
            guard case .none = state else { return false }
            state = .preparing
            return true
        }
    }

    /// The background queue is done; nil when the file system refused (not tried again).
    func finish(_ segment: PreparedSegment?) {
        state.withLock { $0 = segment.map { .ready($0) } ?? .refused }
    }

    /// The ready segment, if there is one; a new one may then be made ready.
    func take() -> PreparedSegment? {
        state.withLock { state in
            guard case .ready(let segment) = state else { return nil }
            state = .none
            return segment
        }
    }

    /// At the spool's end: a ready segment is closed and deleted.
    func discard() {
        take()?.discard()
    }
}
