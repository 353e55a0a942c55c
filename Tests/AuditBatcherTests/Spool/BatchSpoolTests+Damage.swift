import Foundation
import Testing

@testable import AuditBatcher

/// Damage the spool meets on disk: in the middle of a segment (pages a machine crash lost,
/// bytes rotted), at its start, left in a copy half made; and segments larger than one read.
extension BatchSpoolTests {
    /// The records `payloads` make, back to back, as a segment holds them.
    func records(_ payloads: [[UInt8]]) -> [UInt8] {
        payloads.flatMap { SpoolRecord.encode($0) }
    }

    @Test func aScanFindsTheIntactRunsAroundDamage() {
        let one = SpoolRecord.encode(event(1))
        let two = SpoolRecord.encode(event(2))
        let three = SpoolRecord.encode(event(3))
        let garbage: [UInt8] = [0x13, 0x37, 0xC2, SpoolRecord.marker, 0x99, 0x01]
        let zeros = [UInt8](repeating: 0, count: 100)
        // A record torn into a page of zeros: its marker, then what reads as an empty record.
        let tornIntoZeros = [0x41, 0x42, SpoolRecord.marker] + zeros
        let cases: [(String, [UInt8], SpoolRecord.Scan)] = [
            ("intact", one + two, .init(runs: [0..<(one.count + two.count)], records: 2, damaged: 0)),
            ("reserved zeros after", one + zeros, .init(runs: [0..<one.count], records: 1, damaged: 0)),
            ("torn last record", one + Array(two.prefix(12)), .init(runs: [0..<one.count], records: 1, damaged: 1)),
            (
                "damage between", one + garbage + two + three,
                .init(
                    runs: [
                        0..<one.count,
                        (one.count + garbage.count)..<(one.count + garbage.count + two.count + three.count),
                    ],
                    records: 3, damaged: 1, recordsBeforeDamage: 1)
            ),
            (
                "a lost page of zeros between", one + zeros + two,
                .init(
                    runs: [0..<one.count, (one.count + zeros.count)..<(one.count + zeros.count + two.count)],
                    records: 2,
                    damaged: 1, recordsBeforeDamage: 1)
            ),
            (
                "damage first", garbage + one,
                .init(
                    runs: [garbage.count..<(garbage.count + one.count)], records: 1, damaged: 1, recordsBeforeDamage: 0)
            ),
            ("a record torn into zeros", one + tornIntoZeros, .init(runs: [0..<one.count], records: 1, damaged: 1)),
            ("nothing but garbage", garbage, .init(runs: [], records: 0, damaged: 1)),
            ("empty", [], .init(runs: [], records: 0, damaged: 0)),
        ]
        for (name, bytes, expected) in cases {
            #expect(SpoolRecord.scan(bytes) == expected, "\(name)")
        }
        // A record whose payload was damaged is skipped as a whole, the next one kept.
        var flipped = one + two + three
        flipped[one.count + SpoolRecord.headerSize + 4] ^= 0x01
        let scan = SpoolRecord.scan(flipped)
        #expect(scan.records == 2 && scan.damaged == 1)
        #expect(scan.runs == [0..<one.count, (one.count + two.count)..<flipped.count])
    }

    /// The only segment, damaged as `damage` says; reopened.
    func reopenedAfterDamage(_ damage: (inout [UInt8]) -> Void, events count: Int = 4) throws -> (BatchSpool, String) {
        let path = directory()
        do {
            let spool = try BatchSpool(.init(directory: path))
            for index in 1...count { try spool.append(event(index)) }
        }
        let segment = path + "/" + (try #require(try segmentFiles(in: path).first))
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: segment)))
        damage(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        return (try BatchSpool(.init(directory: path)), segment)
    }

    /// A machine crash can lose a page of a mapped segment while a later one reached the disk:
    /// the records after the hole used to be cut off with it.
    @Test func recordsAfterALostPageInTheMiddleAreKept() throws {
        let record = SpoolRecord.headerSize + event(1).count
        let (reopened, segment) = try reopenedAfterDamage { bytes in
            for index in record..<(2 * record) { bytes[index] = 0 }
        }
        #expect(reopened.recovery == .init(unacknowledgedEvents: 3, tornRecords: 1))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(1), event(3), event(4)])
        // The file is its intact records now, and no copy is left beside it.
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: segment))) == records([event(1), event(3), event(4)]))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: (segment as NSString).deletingLastPathComponent)
                .allSatisfy { !$0.hasSuffix(".tmp") })
        // Appends go on after them, and a restart finds the same.
        try reopened.append(event(9))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(1), event(3), event(4), event(9)])
    }

    /// The records after a damaged stretch take the numbers of those it held: a checkpoint past
    /// the damage goes back to before it, so none of them is taken for sent (what was sent
    /// after it goes again; receivers dedupe by audit ID).
    @Test func aCheckpointPastDamageGoesBackToBeforeIt() throws {
        let path = directory()
        do {
            let spool = try BatchSpool(.init(directory: path))
            for index in 1...30 { try spool.append(event(index)) }
            try spool.acknowledge(through: 20)
        }
        let segment = path + "/" + (try #require(try segmentFiles(in: path).first))
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: segment)))
        // Records 5 to 9 rotted (not zeros: garbage the scan must skip).
        let record = SpoolRecord.headerSize + event(1).count
        #expect(records((1...9).map { event($0) }).count == 9 * record, "the first nine events are one size")
        for index in (4 * record)..<(9 * record) { bytes[index] = UInt8(truncatingIfNeeded: index &* 37 | 1) }
        try Data(bytes).write(to: URL(fileURLWithPath: segment))

        let reopened = try BatchSpool(.init(directory: path))
        let unsent = try reopened.unacknowledged(limit: 100).map(\.payload)
        #expect(Array(unsent.suffix(10)) == (21...30).map { event($0) }, "every event never sent comes back")
        #expect(unsent == Array((10...30).map { event($0) }), "those after the damage, sent or not")
        // The lowered checkpoint holds across another restart, now that the segment is whole.
        let again = try BatchSpool(.init(directory: path))
        #expect(try again.unacknowledged(limit: 100).map(\.payload) == unsent)
    }

    @Test func recordsAfterDamageAtTheSegmentsStartAreKept() throws {
        let (reopened, _) = try reopenedAfterDamage { bytes in
            bytes[0] = 0x7B
            bytes[3] ^= 0x40
        }
        #expect(reopened.recovery == .init(unacknowledgedEvents: 3, tornRecords: 1))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == [event(2), event(3), event(4)])
    }

    /// A crash while the intact records were copied out leaves the copy: deleted, the segment
    /// recovered as it was.
    @Test func aCopyHalfMadeWhenRecoveryWasCutShortIsDeleted() throws {
        let path = directory()
        do {
            let spool = try BatchSpool(.init(directory: path))
            for index in 1...3 { try spool.append(event(index)) }
        }
        let segment = path + "/" + (try #require(try segmentFiles(in: path).first))
        try Data(records([event(1)]).prefix(5)).write(to: URL(fileURLWithPath: segment + ".tmp"))
        let reopened = try BatchSpool(.init(directory: path))
        #expect(reopened.recovery == .init(unacknowledgedEvents: 3, tornRecords: 0))
        #expect(!FileManager.default.fileExists(atPath: segment + ".tmp"))
        #expect(try reopened.unacknowledged(limit: 10).map(\.payload) == (1...3).map { event($0) })
    }

    /// Closed segments are read a chunk at a time: records that span chunks, and one larger
    /// than a chunk, come back whole, in this process and after a restart.
    @Test(arguments: [false, true])
    func closedSegmentsLargerThanAReadChunkReadBackWhole(restart: Bool) throws {
        let path = directory()
        var events = (1...1500).map { event($0, size: 600 + $0 % 17) }
        events[700] = event(701, size: SpoolRead.fileChunk + 5000)
        let configuration = BatchSpool.Configuration(directory: path, segmentBytes: 2 << 20)
        var spool = try BatchSpool(configuration)
        for payload in events { try spool.append(payload) }
        // Closes the segment: the next event starts one of its own.
        try spool.append(event(9999, size: 2 << 20))
        if restart { spool = try BatchSpool(configuration) }
        let batch = try spool.unacknowledged(limit: events.count)
        #expect(batch.count == events.count)
        #expect(batch.map(\.payload) == events)
    }

    /// A closed segment damaged while the proxy runs: its records from the damage on cannot be
    /// read, and the read must fail (the batch is retried) rather than come back short and be
    /// acknowledged whole, the events it lacks lost without a count.
    @Test func aClosedSegmentDamagedAfterItWasWrittenFailsTheRead() throws {
        let record = SpoolRecord.headerSize + event(1).count
        let path = directory()
        let spool = try BatchSpool(.init(directory: path, segmentBytes: record * 3))
        for index in 1...5 { try spool.append(event(index)) }
        let oldest = path + "/" + (try #require(try segmentFiles(in: path).first))
        let handle = try #require(FileHandle(forWritingAtPath: oldest))
        try handle.seek(toOffset: UInt64(record))
        try handle.write(contentsOf: Data([0x00, 0xFF]))
        try handle.close()
        #expect(throws: BatchSpool.Failure.self) { try spool.unacknowledged(limit: 10) }
        // What comes before the damage is still read when the batch ends there.
        #expect(try spool.unacknowledged(limit: 1).map(\.payload) == [event(1)])
    }
}
