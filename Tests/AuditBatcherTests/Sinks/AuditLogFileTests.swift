import Foundation
import TestSupport
import Testing

@testable import AuditBatcher

/// `--audit-log-path` with `--audit-log-maxsize`/`-maxbackup` rotation.
@Suite struct AuditLogFileTests {
    @Test func eachEventIsOneLine() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let log = try AuditLogFile(path: path)
        try log.append(Array(#"{"a":1}"#.utf8))
        try log.append(Array(#"{"b":2}"#.utf8))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n{\"b\":2}\n")
    }

    @Test func fileRotatesAtMaxSizeAndKeepsMaxBackups() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let folder = directory.path
        let log = try AuditLogFile(
            path: folder + "/audit.log", rotation: .init(maxSizeMegabytes: 1, maxBackups: 1, maxAgeDays: 0))
        let line = Array(repeating: UInt8(ascii: "x"), count: 1023)
        for _ in 0..<(3 * 1024 + 10) {
            try log.append(line)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names.count == 2, "\(names)")
        #expect(names.contains("audit.log"))
        for name in names {
            let size = try #require(
                try FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int)
            #expect(size <= 1024 * 1024)
        }
    }

    // MARK: - Rotation as the API server's lumberjack rotates

    private static let backupPattern = #"^audit-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}"#

    private func names(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    private func size(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }

    /// Writes a little over a megabyte, so that a 1 MB log rotates once.
    private func writeAMegabyte(_ log: AuditLogFile) throws {
        let line = Array(repeating: UInt8(ascii: "x"), count: 1023)
        for _ in 0..<1030 { try log.append(line) }
    }

    private func backupName(daysAgo days: Double, hours: Double = 0, _ fileExtension: String = ".log") -> String {
        let milliseconds = Int64((Date().timeIntervalSince1970 - days * 86_400 - hours * 3600) * 1000)
        return AuditLogBackups(logPath: "/x/audit" + fileExtension).name(atMilliseconds: milliseconds)
    }

    private func touch(_ path: String, modified: Date = Date()) throws {
        try Data("old\n".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
    }

    /// `--audit-log-maxsize=0`, the default, is lumberjack's 100 MB, not "never".
    @Test func zeroMaxSizeRotatesAtOneHundredMegabytes() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let limit = 100 * 1024 * 1024
        // A sparse file just short of the limit.
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(limit - 8))
        try handle.close()

        let log = try AuditLogFile(path: path)
        try log.append(Array("{}".utf8))
        #expect(try names(in: directory.path) == ["audit.log"])
        try log.append(Array(#"{"a":1}"#.utf8))
        let names = try names(in: directory.path)
        #expect(names.count == 2, "\(names)")
        let backup = try #require(names.first { $0 != "audit.log" })
        #expect(try size(directory.file(backup)) == limit - 5)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n")
    }

    @Test func backupIsNamedWithTheUTCTimeBeforeTheExtension() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let log = try AuditLogFile(path: directory.file("audit.log"), rotation: .init(maxSizeMegabytes: 1))
        let before = Date()
        try writeAMegabyte(log)
        let after = Date()
        let backup = try #require(try names(in: directory.path).first { $0 != "audit.log" })
        #expect(backup.range(of: Self.backupPattern + #"\.log$"#, options: .regularExpression) != nil, "\(backup)")

        // Read back independently of the code under test.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH-mm-ss.SSS"
        let stamp = String(backup.dropFirst("audit-".count).dropLast(".log".count))
        let rotated = try #require(formatter.date(from: stamp))
        #expect(rotated.timeIntervalSince(before) > -0.001 && rotated <= after, "\(stamp)")
    }

    @Test func extensionlessLogRotatesToStemDashTime() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let log = try AuditLogFile(path: directory.file("audit"), rotation: .init(maxSizeMegabytes: 1))
        try writeAMegabyte(log)
        let backup = try #require(try names(in: directory.path).first { $0 != "audit" })
        #expect(backup.range(of: Self.backupPattern + "$", options: .regularExpression) != nil, "\(backup)")
    }

    /// With `--audit-log-path=/x/audit` the policy beside it (`audit-policy.yaml`) and other files starting with
    /// `audit-` are no backups and are never deleted, nor is a directory named like a backup.
    @Test func siblingsOfAnExtensionlessLogAreNeverTouched() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let siblings = ["audit-policy.yaml", "audit-notes", "audit.log", "other-2020-01-01T00-00-00.000"]
        for name in siblings {
            try touch(directory.file(name), modified: Date(timeIntervalSinceNow: -400 * 86_400))
        }
        let backupLikeFolder = directory.file("audit-2020-01-01T00-00-00.000")
        try FileManager.default.createDirectory(atPath: backupLikeFolder, withIntermediateDirectories: false)
        let oldBackup = backupName(daysAgo: 30, "")
        try touch(directory.file(oldBackup))

        let log = try AuditLogFile(
            path: directory.file("audit"), rotation: .init(maxSizeMegabytes: 1, maxBackups: 1, maxAgeDays: 1))
        try writeAMegabyte(log)

        let names = try names(in: directory.path)
        for name in siblings + ["audit", "audit-2020-01-01T00-00-00.000"] {
            #expect(names.contains(name), "\(name) is gone: \(names)")
        }
        #expect(!names.contains(oldBackup))
        #expect(names.count == siblings.count + 3, "\(names)")
    }

    /// `--audit-log-maxage` goes by the time in the name, not by when the file was last written.
    @Test func maxAgeGoesByTheTimeInTheName() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let oldByName = backupName(daysAgo: 10)
        let recentByName = backupName(daysAgo: 0, hours: 1)
        try touch(directory.file(oldByName), modified: Date())
        try touch(directory.file(recentByName), modified: Date(timeIntervalSinceNow: -30 * 86_400))

        let log = try AuditLogFile(
            path: directory.file("audit.log"), rotation: .init(maxSizeMegabytes: 1, maxAgeDays: 7))
        try writeAMegabyte(log)

        let names = try names(in: directory.path)
        #expect(!names.contains(oldByName), "\(names)")
        #expect(names.contains(recentByName), "\(names)")
        #expect(names.count == 3, "\(names)")
    }

    /// `--audit-log-maxbackup` keeps the newest by the time in the name, whatever the files' times.
    @Test func maxBackupsKeepsTheNewestByTheTimeInTheName() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let backups = [backupName(daysAgo: 3), backupName(daysAgo: 2), backupName(daysAgo: 1)]
        for (index, name) in backups.enumerated() {
            // The oldest by name was written last.
            try touch(directory.file(name), modified: Date(timeIntervalSinceNow: Double(index) * -86_400))
        }
        try touch(directory.file("audit-zzz.log"))

        let log = try AuditLogFile(
            path: directory.file("audit.log"), rotation: .init(maxSizeMegabytes: 1, maxBackups: 2))
        try writeAMegabyte(log)

        let names = try names(in: directory.path)
        #expect(names.contains(backups[2]), "\(names)")
        #expect(!names.contains(backups[0]) && !names.contains(backups[1]), "\(names)")
        #expect(names.contains("audit-zzz.log"), "\(names)")
        #expect(names.count == 4, "\(names)")
    }

    /// Like lumberjack, which cleans up when it first opens the log, not only after a rotation.
    @Test func backupsArePrunedWhenTheLogOpens() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let backups = [backupName(daysAgo: 3), backupName(daysAgo: 2), backupName(daysAgo: 1)]
        for name in backups { try touch(directory.file(name)) }

        let log = try AuditLogFile(path: directory.file("audit.log"), rotation: .init(maxBackups: 1))
        try log.append(Array("{}".utf8))

        #expect(try names(in: directory.path) == [backups[2], "audit.log"].sorted())
    }

    @Test func rotationAfterTheLogWasRemovedStartsAFreshFile() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let log = try AuditLogFile(path: path, rotation: .init(maxSizeMegabytes: 1))
        let line = Array(repeating: UInt8(ascii: "x"), count: 1023)
        for _ in 0..<1000 { try log.append(line) }
        try FileManager.default.removeItem(atPath: path)
        for _ in 0..<100 { try log.append(line) }
        #expect(try size(path) > 0)
    }
    // MARK: - Mode, compression, truncation

    private func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    /// lumberjack copies the old file's mode to the fresh one: a log shipper given group read
    /// access keeps it after a rotation.
    @Test func theFreshFileKeepsTheRotatedOnesMode() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let log = try AuditLogFile(path: path, rotation: .init(maxSizeMegabytes: 1))
        #expect(try mode(path) == 0o600)
        #expect(chmod(path, 0o640) == 0)
        try writeAMegabyte(log)
        #expect(try names(in: directory.path).count == 2)
        #expect(try mode(path) == 0o640)
    }

    @Test func compressedBackupsAreGzipsOfTheRotatedFile() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let log = try AuditLogFile(path: path, rotation: .init(maxSizeMegabytes: 1, compress: true))
        #expect(chmod(path, 0o640) == 0)
        let line = Array(repeating: UInt8(ascii: "x"), count: 1023)
        for _ in 0..<1024 { try log.append(line) }
        let rotated = try String(contentsOfFile: path, encoding: .utf8)
        try log.append(Array(#"{"a":1}"#.utf8))
        log.waitForCompression()
        let names = try names(in: directory.path)
        #expect(names.count == 2, "\(names)")
        let backup = try #require(names.first { $0 != "audit.log" })
        #expect(backup.hasSuffix(".log.gz"), "\(backup)")
        #expect(try mode(directory.file(backup)) == 0o640)
        // Read back with gzip(1), not with the code under test.
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", directory.file(backup)]
        let output = Pipe()
        gunzip.standardOutput = output
        try gunzip.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        gunzip.waitUntilExit()
        #expect(gunzip.terminationStatus == 0)
        #expect(String(decoding: data, as: UTF8.self) == rotated)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n")
    }

    /// A backup left uncompressed (the proxy stopped first) is compressed at the next start.
    @Test func backupsLeftUncompressedAreCompressedWhenTheLogOpens() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let backup = backupName(daysAgo: 1)
        try "{}\n".write(toFile: directory.file(backup), atomically: false, encoding: .utf8)
        try "not a backup\n".write(toFile: directory.file("audit-notes.log"), atomically: false, encoding: .utf8)
        let log = try AuditLogFile(path: directory.file("audit.log"), rotation: .init(compress: true))
        log.waitForCompression()
        #expect(try names(in: directory.path) == ["audit-notes.log", backup + ".gz", "audit.log"].sorted())
    }

    @Test func truncationRemovesObjectsOrLeavesTheEventOut() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let log = try AuditLogFile(path: path, truncation: AuditTruncation(maxEventSize: 2048))
        #expect(log.reshapesEvents)
        var large = EventFixtures.listPods()
        large.level = EventFixtures.level("RequestResponse")
        large.responseObject = try RawJSON(validating: Array(("\"" + String(repeating: "x", count: 4096) + "\"").utf8))
        var hopeless = EventFixtures.listPods(auditID: "7d1c9e2a-4b3f-4a5e-8c6d-0e1f2a3b4c5d")
        hopeless.userAgent = String(repeating: "u", count: 4096)
        let small = EventFixtures.listPods(auditID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
        #expect(throws: AuditLogFile.Failure.self) {
            try log.accept(encoded: [EncodedAuditEvent(large), EncodedAuditEvent(hopeless), EncodedAuditEvent(small)])
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains(#""annotations":{"audit.k8s.io/truncated":"true"}"#))
        #expect(!lines[0].contains("responseObject"))
        #expect(String(lines[1]) == EventFixtures.json(small.jsonBytes()))
        // Handed over as bytes alone, the oversized event is read back and truncated all the same.
        try log.accept([large.jsonBytes()])
        let last = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").last ?? ""
        #expect(last.contains(#""audit.k8s.io/truncated":"true""#) && !last.contains("responseObject"))
    }

    /// Sizes and ages past what the arithmetic holds never rotate or expire, rather than trap.
    @Test func hugeLimitsSaturate() throws {
        #expect(AuditLogFile.Rotation(maxSizeMegabytes: .max).maxBytes == .max)
        let backups = AuditLogBackups(logPath: "/x/audit.log")
        #expect(
            backups.expired(
                among: [backupName(daysAgo: 3650)], nowMilliseconds: 1_800_000_000_000, maxBackups: 0,
                maxAgeDays: .max
            ).isEmpty)
    }
}
