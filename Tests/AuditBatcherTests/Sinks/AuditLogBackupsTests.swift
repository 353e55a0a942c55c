import Testing

@testable import AuditBatcher

/// Backup names as lumberjack v2 (the API server's `--audit-log-path` rotation) writes and recognises them.
@Suite("Audit log backup names")
struct AuditLogBackupsTests {
    @Test(arguments: [
        ("/var/log/audit.log", "/var/log", "audit", ".log"),
        ("/x/audit", "/x", "audit", ""),
        ("audit.log", ".", "audit", ".log"),
        ("/audit.log", "/", "audit", ".log"),
        ("/x/archive.tar.gz", "/x", "archive.tar", ".gz"),
        ("/x/.hidden", "/x", "", ".hidden"),
        ("/x.d/audit", "/x.d", "audit", ""),
        ("/x/audit.", "/x", "audit", "."),
    ])
    func pathSplitsLikeGosFilepath(_ path: String, _ directory: String, _ stem: String, _ fileExtension: String) {
        let backups = AuditLogBackups(logPath: path)
        #expect(backups.directory == directory)
        #expect(backups.stem == stem)
        #expect(backups.fileExtension == fileExtension)
    }

    @Test(arguments: [
        (Int64(1_795_626_000_123), "audit-2026-11-25T17-00-00.123.log"),
        (0, "audit-1970-01-01T00-00-00.000.log"),
        (951_782_400_000, "audit-2000-02-29T00-00-00.000.log"),
        (1_709_251_199_999, "audit-2024-02-29T23-59-59.999.log"),
        (253_402_300_799_999, "audit-9999-12-31T23-59-59.999.log"),
        (-1, "audit-1969-12-31T23-59-59.999.log"),
    ])
    func backupNameIsStemDashUTCTimeExtension(_ milliseconds: Int64, _ name: String) {
        #expect(AuditLogBackups(logPath: "/var/log/audit.log").name(atMilliseconds: milliseconds) == name)
    }

    @Test func extensionlessBackupNameEndsWithTheTime() {
        #expect(
            AuditLogBackups(logPath: "/x/audit").name(atMilliseconds: 1_795_626_000_123)
                == "audit-2026-11-25T17-00-00.123")
    }

    @Test(arguments: [
        ("audit-2026-11-25T17-00-00.123.log", Int64?(1_795_626_000_123)),
        ("audit-2026-11-25T17-00-00.123.log.gz", 1_795_626_000_123),
        ("audit-2026-11-25T7-00-00.123.log", 1_795_590_000_123),
        ("audit-2026-11-25T07-00-00,123.log", 1_795_590_000_123),
        ("audit-2026-11-25T17-00-00.+12.log", 1_795_626_000_012),
        ("audit-2024-02-29T00-00-00.000.log", 1_709_164_800_000),
        ("audit-2000-02-29T00-00-00.000.log", 951_782_400_000),
        ("audit-0000-01-01T00-00-00.000.log", -62_167_219_200_000),
        ("audit-2023-02-29T00-00-00.000.log", nil),
        ("audit-1900-02-29T00-00-00.000.log", nil),
        ("audit-2026-02-30T17-00-00.123.log", nil),
        ("audit-2026-11-31T17-00-00.123.log", nil),
        ("audit-2026-13-25T17-00-00.123.log", nil),
        ("audit-2026-00-25T17-00-00.123.log", nil),
        ("audit-2026-11-00T17-00-00.123.log", nil),
        ("audit-2026-11-25T24-00-00.123.log", nil),
        ("audit-2026-11-25T17-60-00.123.log", nil),
        ("audit-2026-11-25T17-00-60.123.log", nil),
        ("audit-2026-11-25T17-00-00.12.log", nil),
        ("audit-2026-11-25T17-00-00.1234.log", nil),
        ("audit-2026-11-25T17-00-00.log", nil),
        ("audit-2026-1-25T17-00-00.123.log", nil),
        ("audit-+026-11-25T17-00-00.123.log", nil),
        ("audit-2026-11-25t17-00-00.123.log", nil),
        ("audit-2026-11-25T170000.123.log", nil),
        ("audit-2026-11-25T17-00-00.123.txt", nil),
        ("audit-2026-11-25T17-00-00.123", nil),
        ("auditx-2026-11-25T17-00-00.123.log", nil),
        ("audit2026-11-25T17-00-00.123.log", nil),
        ("audit.log", nil),
        ("audit-policy.yaml", nil),
        ("audit-.log", nil),
    ])
    func backupTimeIsReadFromTheNameOnly(_ name: String, _ milliseconds: Int64?) {
        #expect(AuditLogBackups(logPath: "/var/log/audit.log").backupTime(of: name) == milliseconds)
    }

    @Test(arguments: [
        ("audit-2026-11-25T17-00-00.123", Int64?(1_795_626_000_123)),
        ("audit-2026-11-25T17-00-00.123.gz", 1_795_626_000_123),
        ("audit-policy.yaml", nil),
        ("audit-2026-11-25T17-00-00.123.log", nil),
        ("audit", nil),
    ])
    func extensionlessLogRecognisesOnlyTimestampedSiblings(_ name: String, _ milliseconds: Int64?) {
        #expect(AuditLogBackups(logPath: "/x/audit").backupTime(of: name) == milliseconds)
    }

    private static let day: Int64 = 86_400_000
    private static let now: Int64 = 1_795_626_000_000

    private static func backup(daysAgo: Int64, _ suffix: String = "") -> String {
        AuditLogBackups(logPath: "/x/audit.log").name(atMilliseconds: now - daysAgo * day) + suffix
    }

    @Test(arguments: [
        // neither limit: nothing goes
        (0, 0, [backup(daysAgo: 1), backup(daysAgo: 100)], [String]()),
        // the newest by name are kept, whatever order they come in
        (2, 0, [backup(daysAgo: 3), backup(daysAgo: 1), backup(daysAgo: 2)], [backup(daysAgo: 3)]),
        (
            1, 0, [backup(daysAgo: 3), backup(daysAgo: 1), backup(daysAgo: 2)],
            [backup(daysAgo: 2), backup(daysAgo: 3)]
        ),
        // a backup and its .gz count once
        (1, 0, [backup(daysAgo: 1), backup(daysAgo: 1, ".gz"), backup(daysAgo: 2)], [backup(daysAgo: 2)]),
        // older than maxage days of 24 hours
        (0, 7, [backup(daysAgo: 8), backup(daysAgo: 7), backup(daysAgo: 6)], [backup(daysAgo: 8)]),
        // both: the count first, then the age of those left
        (
            2, 5, [backup(daysAgo: 9), backup(daysAgo: 6), backup(daysAgo: 1)],
            [backup(daysAgo: 9), backup(daysAgo: 6)]
        ),
        // anything else in the directory is never a backup
        (1, 1, ["audit.log", "audit-policy.yaml", "other-2020-01-01T00-00-00.000.log"], []),
    ])
    func expiredBackups(_ maxBackups: Int, _ maxAgeDays: Int, _ names: [String], _ expired: [String]) {
        let backups = AuditLogBackups(logPath: "/x/audit.log")
        let found = backups.expired(
            among: names, nowMilliseconds: Self.now, maxBackups: maxBackups, maxAgeDays: maxAgeDays)
        #expect(found.sorted() == expired.sorted())
    }
}
