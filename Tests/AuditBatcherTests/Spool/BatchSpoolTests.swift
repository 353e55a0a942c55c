import Foundation
import TestSupport
import Testing

@testable import AuditBatcher

/// The durable spool on a real directory: order, acknowledgement, restart, torn records, bounds.
@Suite final class BatchSpoolTests: Sendable {
    /// Every spool a test opens lives in here, removed when the test ends.
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("spool")
    }

    deinit {
        scratch.remove()
    }

    func directory() -> String {
        scratch.file(UUID().uuidString)
    }

    /// The names of the segment files in `path`, sorted (oldest first).
    func segmentFiles(in path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("segment-") }.sorted()
    }

    func event(_ index: Int, size: Int = 40) -> [UInt8] {
        Array("{\"auditID\":\"\(index)\"}".utf8) + [UInt8](repeating: 0x20, count: max(0, size - 20))
    }

    @Test func appendedEventsComeBackInOrderUntilAcknowledged() throws {
        let spool = try BatchSpool(.init(directory: directory()))
        for index in 1...5 { try spool.append(event(index)) }
        #expect(try spool.unacknowledged(limit: 10).map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(try spool.unacknowledged(limit: 2).map(\.payload) == [event(1), event(2)])
        try spool.acknowledge(through: 3)
        #expect(try spool.unacknowledged(limit: 10).map(\.sequence) == [4, 5])
        #expect(spool.unacknowledgedCount == 2)
    }

    @Test func readsResumeCorrectlyAfterPartialAndFullAcknowledgement() throws {
        let record = SpoolRecord.headerSize + 40
        let spool = try BatchSpool(.init(directory: directory(), segmentBytes: record * 3))
        for index in 1...10 { try spool.append(event(index)) }
        #expect(try spool.unacknowledged(limit: 4).map(\.sequence) == [1, 2, 3, 4])
        try spool.acknowledge(through: 2)
        #expect(try spool.unacknowledged(limit: 3).map(\.sequence) == [3, 4, 5])
        try spool.acknowledge(through: 5)
        #expect(try spool.unacknowledged(limit: 3).map(\.sequence) == [6, 7, 8])
        try spool.acknowledge(through: 8)
        try spool.append(event(11))
        #expect(try spool.unacknowledged(limit: 10).map(\.payload) == [event(9), event(10), event(11)])
    }

    @Test func unacknowledgedEventsSurviveARestart() throws {
        let path = directory()
        do {
            let spool = try BatchSpool(.init(directory: path))
            for index in 1...4 { try spool.append(event(index)) }
            try spool.acknowledge(through: 1)
        }
        let reopened = try BatchSpool(.init(directory: path))
        #expect(reopened.recovery == .init(unacknowledgedEvents: 3, tornRecords: 0))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(2), event(3), event(4)])
        // New events continue the sequence after the recovered ones.
        #expect(try reopened.append(event(5)) == 5)
        #expect(try reopened.unacknowledged(limit: 10).map(\.sequence) == [2, 3, 4, 5])
    }

    @Test func theCheckpointIsOneLineOverwrittenAndAnEarlierReleasesFileIsRead() throws {
        let path = directory()
        do {
            let spool = try BatchSpool(.init(directory: path))
            for index in 1...12 { try spool.append(event(index)) }
            try spool.acknowledge(through: 10)
            try spool.acknowledge(through: 11)
        }
        let checkpoint = path + "/acknowledged"
        #expect(try String(contentsOfFile: checkpoint, encoding: .utf8) == "00000000000000000011\n")
        #expect(try BatchSpool(.init(directory: path)).acknowledgedSequence == 11)
        // Earlier releases wrote the bare number (and replaced the file).
        try "9".write(toFile: checkpoint, atomically: true, encoding: .utf8)
        let reopened = try BatchSpool(.init(directory: path))
        #expect(reopened.acknowledgedSequence == 9)
        #expect(try reopened.unacknowledged(limit: 10).map(\.sequence) == [10, 11, 12])
    }

    @Test func eventsAppendedTogetherReadBackAndSurviveARestartLikeSingleOnes() throws {
        let path = directory()
        let record = SpoolRecord.headerSize + 40
        do {
            let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 4, memoryBytes: 1 << 20))
            try spool.append(event(1))
            #expect(try spool.appendTogether([event(2), event(3)]))
            #expect(spool.lastSequence == 3)
            #expect(spool.spooledBytes == UInt64((1...3).reduce(0) { $0 + SpoolRecord.headerSize + event($1).count }))
            // Two more do not fit the 4-record segment: nothing is written, the caller goes one by one.
            #expect(try !spool.appendTogether([event(4), event(5)]))
            #expect(spool.lastSequence == 3)
            for index in 4...5 { try spool.append(event(index)) }
            #expect(try spool.unacknowledged(limit: 10).map(\.payload) == (1...5).map { event($0) })
        }
        let reopened = try BatchSpool(.init(directory: path, segmentBytes: record * 4))
        #expect(reopened.recovery == .init(unacknowledgedEvents: 5, tornRecords: 0))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == (1...5).map { event($0) })
    }

    @Test(arguments: [true, false])
    func tornLastRecordIsCutAndTheRestIsKept(mapped: Bool) throws {
        let path = directory()
        do {
            var configuration = BatchSpool.Configuration(directory: path)
            configuration.mapsSegments = mapped
            let spool = try BatchSpool(configuration)
            for index in 1...3 { try spool.append(event(index)) }
        }
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: path).first { $0.hasPrefix("segment-") })
        let file = path + "/" + segment
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        // A crash in the middle of the third record's write.
        #expect(truncate(file, off_t(size - 7)) == 0)
        let reopened = try BatchSpool(.init(directory: path))
        #expect(reopened.recovery == .init(unacknowledgedEvents: 2, tornRecords: 1))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(1), event(2)])
        try reopened.append(event(9))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(1), event(2), event(9)])
    }

    /// What a killed process leaves: the active segment as it was mapped, reserved to its full
    /// size, zeros after the last record. Copied while the spool is still open.
    func abandonedCopy(of path: String, segmentBytes: Int) throws -> (directory: String, segment: String) {
        let copy = directory()
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let segment = try #require(
            try segmentFiles(in: copy).max())
        let size = try #require(try FileManager.default.attributesOfItem(atPath: copy + "/" + segment)[.size] as? Int)
        #expect(size == segmentBytes, "the active segment is reserved whole")
        return (copy, copy + "/" + segment)
    }

    @Test func aSegmentLeftMappedByAKilledProcessRecoversWithNothingTorn() throws {
        let path = directory()
        let spool = try BatchSpool(.init(directory: path, segmentBytes: 4096))
        for index in 1...3 { try spool.append(event(index)) }
        #expect(try spool.appendTogether([event(4), event(5)]))
        let (copy, segment) = try abandonedCopy(of: path, segmentBytes: 4096)
        let reopened = try BatchSpool(.init(directory: copy, segmentBytes: 4096))
        #expect(reopened.recovery == .init(unacknowledgedEvents: 5, tornRecords: 0))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == (1...5).map { event($0) })
        // The reserved zeros are cut: the file is its records.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int)
        #expect(UInt64(size) == spool.spooledBytes)
    }

    @Test func aRecordTornMidCopyIntoTheMappingIsCountedAndCut() throws {
        let path = directory()
        let spool = try BatchSpool(.init(directory: path, segmentBytes: 4096))
        for index in 1...2 { try spool.append(event(index)) }
        let (copy, segment) = try abandonedCopy(of: path, segmentBytes: 4096)
        // The process died after the third record's header and part of its payload.
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        try handle.seek(toOffset: spool.spooledBytes)
        try handle.write(contentsOf: Data([SpoolRecord.marker, 40, 0, 0, 0, 1, 2, 3, 4] + Array("{\"au".utf8)))
        try handle.close()
        let reopened = try BatchSpool(.init(directory: copy, segmentBytes: 4096))
        #expect(reopened.recovery == .init(unacknowledgedEvents: 2, tornRecords: 1))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(1), event(2)])
    }

    /// What a killed process left may be in the page cache alone: the next process's first sync
    /// covers the recovered segments too.
    @Test func recoveredSegmentsAreOwedASync() throws {
        let path = directory()
        let record = SpoolRecord.headerSize + 40
        do {
            let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
            for index in 1...5 { try spool.append(event(index)) }
            try spool.acknowledge(through: 2)
        }
        let reopened = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
        #expect(reopened.recovery.unacknowledgedEvents == 3)
        #expect(reopened.hasUnsyncedRecords)
        #expect(reopened.unsyncedSegments == 2)
        try reopened.sync()
        #expect(!reopened.hasUnsyncedRecords)
    }

    /// Starting a segment takes over the one made ready in the background (reserved, mapped, its
    /// first pages prefaulted) with a rename: none of that is left to the appending thread.
    @Test func theNextSegmentIsMadeReadyInTheBackgroundAndTakenOver() throws {
        let path = directory()
        let perSegment = 4096 / (SpoolRecord.headerSize + 40)
        let prepared = path + "/" + BatchSpool.preparedName
        do {
            let spool = try BatchSpool(.init(directory: path, segmentBytes: 4096))
            for index in 1...(perSegment * 3) {
                try spool.append(event(index))
                spool.waitForBackgroundWork()
            }
            #expect(spool.preparedSegmentsUsed == 2)
            // The third segment is full: the fourth waits, made ready.
            #expect(FileManager.default.fileExists(atPath: prepared))
            #expect(try spool.unacknowledged(limit: 1000).map(\.payload) == (1...(perSegment * 3)).map { event($0) })
        }
        // Closed: the ready segment is deleted; a restart finds every event.
        #expect(!FileManager.default.fileExists(atPath: prepared))
        let reopened = try BatchSpool(.init(directory: path, segmentBytes: 4096))
        #expect(reopened.recovery == .init(unacknowledgedEvents: perSegment * 3, tornRecords: 0))
    }

    @Test func aSegmentMadeReadyForAKilledProcessIsDeletedOnRecovery() throws {
        let path = directory()
        let spool = try BatchSpool(.init(directory: path, segmentBytes: 4096))
        for index in 1...60 { try spool.append(event(index)) }
        spool.waitForBackgroundWork()
        #expect(FileManager.default.fileExists(atPath: path + "/" + BatchSpool.preparedName))
        let copy = directory()
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let reopened = try BatchSpool(.init(directory: copy, segmentBytes: 4096))
        #expect(reopened.recovery == .init(unacknowledgedEvents: 60, tornRecords: 0))
        #expect(!FileManager.default.fileExists(atPath: copy + "/" + BatchSpool.preparedName))
        withExtendedLifetime(spool) {}
    }

    @Test func aClosedSegmentIsCutBackToItsRecords() throws {
        let path = directory()
        var bytes: UInt64 = 0
        do {
            let spool = try BatchSpool(.init(directory: path, segmentBytes: 4096))
            for index in 1...3 { try spool.append(event(index)) }
            bytes = spool.spooledBytes
        }
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: path).first { $0.hasPrefix("segment-") })
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path + "/" + segment)[.size] as? Int)
        #expect(UInt64(size) == bytes)
    }

    @Test func anEventLargerThanASegmentGetsASegmentOfItsOwn() throws {
        let path = directory()
        let spool = try BatchSpool(.init(directory: path, segmentBytes: 128))
        try spool.append(event(1))
        try spool.append(event(2, size: 1000))
        try spool.append(event(3))
        #expect(try spool.unacknowledged(limit: 10).map(\.payload) == [event(1), event(2, size: 1000), event(3)])
        let segments = try segmentFiles(in: path)
        #expect(segments.count == 3)
    }

    @Test func corruptedRecordIsDetectedByItsChecksum() throws {
        let path = directory()
        do {
            let spool = try BatchSpool(.init(directory: path))
            for index in 1...3 { try spool.append(event(index)) }
        }
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: path).first { $0.hasPrefix("segment-") })
        let file = URL(fileURLWithPath: path + "/" + segment)
        var bytes = Array(try Data(contentsOf: file))
        let secondPayload = SpoolRecord.headerSize * 2 + event(1).count + 3
        bytes[secondPayload] ^= 0xFF
        try Data(bytes).write(to: file)
        let reopened = try BatchSpool(.init(directory: path))
        #expect(reopened.recovery.tornRecords == 1)
        // The damaged record is left out; the one after it is kept.
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(1), event(3)])
    }

    @Test func fullSpoolDropsTheOldestSegmentAndCountsIt() throws {
        let record = SpoolRecord.headerSize + 100
        let spool = try BatchSpool(
            .init(directory: directory(), maxBytes: UInt64(record * 10), segmentBytes: record * 4))
        for index in 1...10 { try spool.append(event(index, size: 100)) }
        #expect(spool.droppedEvents == 0)
        try spool.append(event(11, size: 100))
        // The first segment (events 1–4) made room.
        #expect(spool.droppedEvents == 4)
        #expect(try spool.unacknowledged(limit: 100).map(\.sequence) == Array(5...11))
        #expect(spool.spooledBytes <= UInt64(record * 10))
    }

    /// A sync covers the segments closed since the last one, not just the one appended to; a
    /// segment whose events the sink took meanwhile needs none.
    @Test func aSyncCoversSegmentsClosedSinceTheLastOneUnlessTheirEventsAreGone() throws {
        let record = SpoolRecord.headerSize + 40
        let spool = try BatchSpool(.init(directory: directory(), segmentBytes: record * 2))
        #expect(spool.deferredSync() == nil)
        for index in 1...5 { try spool.append(event(index)) }
        #expect(spool.unsyncedSegments == 3)
        try spool.sync()
        #expect(spool.unsyncedSegments == 0)
        #expect(spool.deferredSync() == nil)
        for index in 6...9 { try spool.append(event(index)) }
        #expect(spool.unsyncedSegments == 3)
        // Events 1...6 acknowledged: the segment holding 5 and 6 goes, and its sync with it.
        try spool.acknowledge(through: 6)
        #expect(spool.unsyncedSegments == 2)
        let sync = try #require(spool.deferredSync())
        #expect(spool.unsyncedSegments == 0)
        try sync()
    }

    /// A sync after a segment was named in the directory syncs the directory too; one while
    /// the same segment fills does not.
    @Test func theDirectoryIsSyncedOnceForEachNewSegment() throws {
        let record = SpoolRecord.headerSize + 100
        let spool = try BatchSpool(.init(directory: directory(), segmentBytes: record * 2))
        try spool.append(event(1, size: 100))
        try spool.sync()
        #expect(spool.directorySyncs == 1)
        try spool.append(event(2, size: 100))
        try spool.sync()
        #expect(spool.directorySyncs == 1, "the same segment: nothing new in the directory")
        try spool.append(event(3, size: 100))
        try spool.sync()
        #expect(spool.directorySyncs == 2)
        try spool.sync()
        #expect(spool.directorySyncs == 2)
    }

    @Test func acknowledgedSegmentsAreDeleted() throws {
        let path = directory()
        let record = SpoolRecord.headerSize + 100
        let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
        for index in 1...6 { try spool.append(event(index, size: 100)) }
        let before = try segmentFiles(in: path).count
        try spool.acknowledge(through: 4)
        // Removed in the background, off the shipper's lock.
        spool.waitForBackgroundWork()
        let after = try segmentFiles(in: path).count
        #expect(before == 3)
        #expect(after == 1)
        #expect(try spool.unacknowledged(limit: 10).map(\.sequence) == [5, 6])
    }

    /// A checkpoint lost or left stale by a crash: the events before the oldest segment left
    /// were acknowledged; the spool starts after them rather than offer numbers it has no record
    /// for (each 400 of which became an empty batch).
    @Test(arguments: [true, false])
    func aLostCheckpointResumesAtTheOldestSegmentLeft(deleted: Bool) throws {
        let path = directory()
        let record = SpoolRecord.headerSize + 100
        do {
            let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
            for index in 1...6 { try spool.append(event(index, size: 100)) }
            try spool.acknowledge(through: 4)
            spool.waitForBackgroundWork()
        }
        let checkpoint = path + "/acknowledged"
        if deleted {
            try FileManager.default.removeItem(atPath: checkpoint)
        } else {
            try "1\n".write(toFile: checkpoint, atomically: false, encoding: .utf8)
        }
        let reopened = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
        #expect(reopened.acknowledgedSequence == 4)
        #expect(reopened.unacknowledgedCount == 2)
        #expect(try reopened.unacknowledged(limit: 10).map(\.sequence) == [5, 6])
        #expect(try reopened.append(event(7, size: 100)) == 7)
    }

    /// A checkpoint that cannot be written while the full spool drops its oldest segment does
    /// not cost the event being appended (it was refused, uncounted): the event is stored and the
    /// failure counted, as a restart may then send some events again. The dropped segment is
    /// gone all the same, and acknowledging everything leaves only the active one.
    @Test func aCheckpointThatCannotBeWrittenDuringADropLosesNoEvent() throws {
        let path = directory()
        let record = SpoolRecord.headerSize + 100
        let spool = try BatchSpool(
            .init(directory: path, maxBytes: UInt64(record * 8), segmentBytes: record * 2))
        for index in 1...8 { try spool.append(event(index, size: 100)) }
        // The next append starts a segment, then must drop one, whose checkpoint cannot be written.
        let checkpoint = path + "/acknowledged"
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: false)
        let ninth = try spool.append(event(9, size: 100))
        #expect(ninth == 9)
        #expect(spool.checkpointFailures == 1)
        #expect(spool.droppedEvents == 2)
        #expect(try spool.unacknowledged(limit: 20).map(\.sequence) == Array(3...9))
        try FileManager.default.removeItem(atPath: checkpoint)
        try spool.acknowledge(through: ninth)
        spool.waitForBackgroundWork()
        let files = try segmentFiles(in: path)
        #expect(files.count == 1)
    }

    /// Acknowledged segments are deleted even when the checkpoint cannot be written: they kept
    /// the spool full, and a restart resent them all. The next spool on the directory moves the
    /// stale checkpoint up to the oldest segment left.
    @Test func acknowledgedSegmentsAreDeletedEvenWhenTheCheckpointCannotBeWritten() throws {
        let path = directory()
        let record = SpoolRecord.headerSize + 100
        let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
        for index in 1...6 { try spool.append(event(index, size: 100)) }
        let checkpoint = path + "/acknowledged"
        try? FileManager.default.removeItem(atPath: checkpoint)
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: false)
        #expect(throws: (any Error).self) { try spool.acknowledge(through: 4) }
        spool.waitForBackgroundWork()
        let files = try segmentFiles(in: path)
        #expect(files.count == 1, "\(files)")
        #expect(spool.unacknowledgedCount == 2)
        try FileManager.default.removeItem(atPath: checkpoint)
        let reopened = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
        #expect(try reopened.unacknowledged(limit: 10).map(\.sequence) == [5, 6])
    }

    /// The checkpoint is overwritten in place; whatever longer text was in the file before must
    /// not trail it, or it never parses again and every restart resends the whole spool.
    @Test func aCheckpointWithTrailingGarbageIsRepairedByTheNextWrite() throws {
        let path = directory()
        let record = SpoolRecord.headerSize + 100
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try (String(repeating: "9", count: 40) + "\n").write(
            toFile: path + "/acknowledged", atomically: false, encoding: .utf8)
        let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
        for index in 1...6 { try spool.append(event(index, size: 100)) }
        try spool.acknowledge(through: 4)
        let reopened = try BatchSpool(.init(directory: path, segmentBytes: record * 2))
        #expect(reopened.acknowledgedSequence == 4)
        #expect(try reopened.unacknowledged(limit: 10).map(\.sequence) == [5, 6])
    }

    /// One process per spool directory: a second one would cut the first one's mapped segment
    /// under it and overwrite its files. Another process holding the lock is a clear error; once
    /// it is gone the directory opens.
    @Test func aSpoolDirectoryInUseByAnotherProcessIsRefused() throws {
        let path = directory()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Python's lockf takes a POSIX record lock, as the spool does.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = [
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX); "
                + "print('locked', flush=True); sys.stdin.read()",
            path + "/lock",
        ]
        let output = Pipe()
        let input = Pipe()
        holder.standardOutput = output
        holder.standardInput = input
        try holder.run()
        defer {
            try? input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        let line = output.fileHandleForReading.availableData
        #expect(String(decoding: line, as: UTF8.self).hasPrefix("locked"))
        do {
            _ = try BatchSpool(.init(directory: path))
            Issue.record("a directory another process holds was opened")
        } catch {
            #expect("\(error)".contains("another process is using it"), "\(error)")
        }
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        #expect(throws: Never.self) { _ = try BatchSpool(.init(directory: path)) }
    }

    /// A directory the proxy cannot write in is a start-up error, not an audit log that refuses
    /// every event while the proxy reports ready.
    @Test func aSpoolDirectoryThatCannotBeWrittenIsAnError() throws {
        let path = directory()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // A file where the lock file goes stands in for a read-only directory (the tests run as
        // root, who may write anywhere).
        try FileManager.default.createDirectory(atPath: path + "/lock", withIntermediateDirectories: false)
        #expect(throws: BatchSpool.Failure.self) { _ = try BatchSpool(.init(directory: path)) }
    }

    @Test func anEventLargerThanTheSpoolIsRefusedAndCounted() throws {
        let spool = try BatchSpool(.init(directory: directory(), maxBytes: 64))
        #expect(throws: BatchSpool.Failure.self) { try spool.append(event(1, size: 200)) }
        #expect(spool.droppedEvents == 1)
    }

    /// Reading from memory is only a shortcut: every read answers what reading the files
    /// answers, through appends, partial acknowledgements, full-spool drops and a restart. In
    /// memory means the active segment's mapping, or, where segments are written, the tail
    /// (large, or so small it keeps evicting).
    @Test(arguments: [(0, true), (64, false), (1_000, false), (1 << 20, false)])
    func readsFromMemoryMatchTheFiles(memoryBytes: Int, mapped: Bool) throws {
        let record = SpoolRecord.headerSize + 60
        func open(_ path: String, memory: Int, mapped: Bool) throws -> BatchSpool {
            var configuration = BatchSpool.Configuration(
                directory: path, maxBytes: UInt64(record * 12), segmentBytes: record * 3, memoryBytes: memory)
            configuration.mapsSegments = mapped
            return try BatchSpool(configuration)
        }
        let (diskPath, memoryPath) = (directory(), directory())
        var disk = try open(diskPath, memory: 0, mapped: false)
        var memory = try open(memoryPath, memory: memoryBytes, mapped: mapped)
        var generator = SystemRandomNumberGenerator()
        var index = 0
        for step in 0..<400 {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                index += 1
                let payload = event(index, size: 40 + index % 20)
                #expect(try disk.append(payload) == (try memory.append(payload)))
            case 5..<7:
                let limit = Int.random(in: 1...6, using: &generator)
                let pending = try disk.unacknowledged(limit: limit)
                if let last = pending.last?.sequence {
                    try disk.acknowledge(through: last)
                    try memory.acknowledge(through: last)
                }
            case 7:
                if step % 50 == 7 {
                    disk = try open(diskPath, memory: 0, mapped: false)
                    memory = try open(memoryPath, memory: memoryBytes, mapped: mapped)
                }
            default:
                break
            }
            let limit = Int.random(in: 1...20, using: &generator)
            let fromDisk = try disk.unacknowledged(limit: limit)
            let fromMemory = try memory.unacknowledged(limit: limit)
            #expect(fromDisk.map(\.sequence) == fromMemory.map(\.sequence), "step \(step)")
            #expect(fromDisk.map(\.payload) == fromMemory.map(\.payload), "step \(step)")
            #expect(disk.droppedEvents == memory.droppedEvents)
            #expect(disk.spooledBytes == disk.recountedBytes, "step \(step)")
            #expect(memory.spooledBytes == memory.recountedBytes, "step \(step)")
        }
    }

    /// A batch is read without the shipper's lock while appends go on: the segments it reads may
    /// be closed, cut and even dropped meanwhile. The read still sees its records whole, and only
    /// those still unacknowledged (not dropped) are kept.
    @Test(arguments: [true, false])
    func aReadPlannedBeforeSegmentsCloseAndDropStillReadsWhatItPlanned(mapped: Bool) throws {
        let record = SpoolRecord.headerSize + 40
        var configuration = BatchSpool.Configuration(
            directory: directory(), maxBytes: UInt64(record * 8), segmentBytes: record * 3)
        configuration.mapsSegments = mapped
        let spool = try BatchSpool(configuration)
        for index in 1...5 { try spool.append(event(index)) }
        // Planned over a closed segment (1-3) and the active one (4-5).
        let read = try spool.planRead(limit: 10)
        // Meanwhile the active segment fills and closes, and the full spool drops 1-3.
        for index in 6...10 { try spool.append(event(index)) }
        #expect(spool.droppedEvents == 3)
        let outcome = try read.perform()
        #expect(outcome.records.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(outcome.records.map(\.payload) == (1...5).map { event($0) })
        #expect(spool.finishRead(outcome).map(\.sequence) == [4, 5])
        // The next read resumes after what this one read.
        #expect(try spool.unacknowledged(limit: 10).map(\.sequence) == [4, 5, 6, 7, 8, 9, 10])
    }

    /// A closed segment cut shorter than its records (by hand, or a disk put right) is read
    /// where it is mapped: past the page holding the file's end that was a SIGBUS, and the proxy
    /// went down; within it (as here) the cut records were silently missing. Now it is an error.
    @Test func aClosedSegmentCutShortIsAnErrorNotACrash() throws {
        let record = SpoolRecord.headerSize + 40
        let path = directory()
        var configuration = BatchSpool.Configuration(directory: path, segmentBytes: record * 3)
        configuration.mapsSegments = true
        let spool = try BatchSpool(configuration)
        for index in 1...5 { try spool.append(event(index)) }
        let read = try spool.planRead(limit: 10)
        let segments = try segmentFiles(in: path)
        let oldest = try #require(segments.sorted().first)
        #expect(truncate(path + "/" + oldest, off_t(record)) == 0)
        #expect(throws: BatchSpool.Failure.self) { try read.perform() }
    }

    /// A closed segment whose file is gone (deleted by hand, say) failed every read, and shipping
    /// stalled until a restart or a full spool. Its events are now counted as dropped and the
    /// reads go on without it, oldest segment or not.
    @Test(arguments: [0, 1])
    func aMissingSegmentFileIsCountedAsDroppedAndReadsGoOn(missingIndex: Int) throws {
        let record = SpoolRecord.headerSize + 40
        let path = directory()
        let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 3))
        for index in 1...8 { try spool.append(event(index)) }
        let segments = try segmentFiles(in: path)
        #expect(segments.count == 3)
        try FileManager.default.removeItem(atPath: path + "/" + segments[missingIndex])
        let expected = missingIndex == 0 ? [4, 5, 6, 7, 8] : [1, 2, 3, 7, 8]
        #expect(try spool.unacknowledged(limit: 10).map(\.sequence) == expected.map(UInt64.init))
        #expect(spool.missingSegments == 1)
        #expect(spool.droppedEvents == 3)
        #expect(spool.unacknowledgedCount == 5)
        try spool.acknowledge(through: 8)
        #expect(spool.unacknowledgedCount == 0)
    }

    /// The spool directory removed under the running spool: the next segment makes it anew,
    /// rather than every later event being refused until a restart.
    @Test func aRemovedSpoolDirectoryIsMadeAnewForTheNextSegment() throws {
        let record = SpoolRecord.headerSize + 40
        let path = directory()
        let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 3))
        for index in 1...3 { try spool.append(event(index)) }
        spool.waitForBackgroundWork()
        try FileManager.default.removeItem(atPath: path)
        for index in 4...7 { try spool.append(event(index)) }
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try spool.unacknowledged(limit: 10).map(\.sequence).suffix(4) == [4, 5, 6, 7])
    }

    @Test func aReadStopsAtTheRecordsThereWereWhenItWasPlanned() throws {
        let spool = try BatchSpool(.init(directory: directory()))
        for index in 1...3 { try spool.append(event(index)) }
        let read = try spool.planRead(limit: 10)
        try spool.append(event(4))
        let found = spool.finishRead(try read.perform())
        #expect(found.map(\.sequence) == [1, 2, 3])
        #expect(try spool.unacknowledged(limit: 10).map(\.sequence) == [1, 2, 3, 4])
    }

    /// `RUSAGE_THREAD`, which Glibc declares only for `_GNU_SOURCE`.
    static let rusageThread = __rusage_who_t(1)

    /// Closed segments are read with `pread` from the cursor on: batches that resume deep inside a segment, in this process and after a restart (when
    /// the records are checked against their CRCs), come back whole and in order.
    @Test(arguments: [true, false])
    func batchesResumingDeepInsideClosedSegmentsReadBackWhole(restart: Bool) throws {
        let path = directory()
        let events = (1...300).map { event($0, size: 700 + $0 % 13) }
        let configuration = BatchSpool.Configuration(directory: path, segmentBytes: 64 << 10)
        var spool = try BatchSpool(configuration)
        for payload in events { try spool.append(payload) }
        if restart { spool = try BatchSpool(configuration) }
        var next = 1
        while next <= events.count {
            let batch = try spool.unacknowledged(limit: 7)
            #expect(batch.map(\.sequence) == (next..<min(next + 7, events.count + 1)).map(UInt64.init))
            #expect(batch.map(\.payload) == Array(events[(next - 1)..<min(next + 6, events.count)]))
            try spool.acknowledge(through: UInt64(next + batch.count - 1))
            next += max(batch.count, 1)
            if batch.isEmpty { break }
        }
        #expect(next == events.count + 1)
    }

    /// Minor page faults the calling thread took while `body` ran.
    func threadFaults(_ body: () throws -> Void) rethrows -> Int {
        var before = rusage()
        var after = rusage()
        getrusage(Self.rusageThread, &before)
        try body()
        getrusage(Self.rusageThread, &after)
        return after.ru_minflt - before.ru_minflt
    }

    /// The active segment's pages are prefaulted in the background ahead of the appends, so the
    /// appending thread (on the request path, an event loop) takes no page faults. Needs
    /// `MADV_POPULATE_WRITE` (Linux 5.14 and later).
    @Test func appendsIntoPrefaultedPagesTakeNoPageFaults() throws {
        func faults(prefaulting: Bool) throws -> Int {
            var configuration = BatchSpool.Configuration(directory: directory(), segmentBytes: 4 << 20)
            configuration.prefaultsSegments = prefaulting
            let spool = try BatchSpool(configuration)
            let payloads = (1...600).map { event($0, size: 1000) }
            try spool.append(payloads[0])
            spool.waitForBackgroundWork()
            return try threadFaults {
                for payload in payloads.dropFirst() {
                    try spool.append(payload)
                    // Keeps the prefaulter ahead, as it is in the running proxy, where appends
                    // come microseconds apart rather than nanoseconds.
                    spool.waitForBackgroundWork()
                }
            }
        }
        let without = try faults(prefaulting: false)
        let with = try faults(prefaulting: true)
        // 600 KB of records span about 146 fresh pages.
        #expect(without >= 100)
        #expect(with <= without / 10, "\(with) faults with prefaulting, \(without) without")
    }

    @Test func crcMatchesTheZlibCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func zlibsCRCMatchesTheBytewiseOneAtEveryLengthAndOffset() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<9 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                #expect(CRC32.checksum(slice) == CRC32.bytewise(slice), "\(start)..<\(end)")
            }
        }
        #expect(CRC32.checksum(AnyCollection(bytes)) == CRC32.bytewise(bytes))
    }
}
