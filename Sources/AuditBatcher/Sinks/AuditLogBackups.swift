/// The rotated files of an audit log, named and recognised as the API server's log library (lumberjack v2) does:
/// `audit.log` rotates to `audit-2026-11-25T17-00-00.123.log`, the UTC time of the rotation between the name's stem
/// and its extension, and `/x/audit` to `/x/audit-2026-11-25T17-00-00.123`.
///
/// Only a file in the log's directory whose name is the stem, `-`, a timestamp in exactly that layout, and the
/// extension (or the extension and `.gz`) counts as a backup: a sibling such as `audit-policy.yaml` never does.
/// Age and order are those of the timestamp in the name, not of the file's modification time.
struct AuditLogBackups: Equatable, Sendable {
    /// The log's directory, `.` for a bare file name.
    let directory: String
    /// The log's file name up to its extension: `audit` for `audit.log`.
    let stem: String
    /// From the file name's last `.` on, as Go's `filepath.Ext`; empty when it has none.
    let fileExtension: String

    init(logPath: String) {
        let slash = logPath.utf8.lastIndex(of: UInt8(ascii: "/"))
        let base = slash.map { String(logPath[logPath.index(after: $0)...]) } ?? logPath
        switch slash {
        case nil: directory = "."
        case logPath.utf8.startIndex?: directory = "/"
        case let slash?: directory = String(logPath[..<slash])
        }
        if let dot = base.utf8.lastIndex(of: UInt8(ascii: ".")) {
            stem = String(base[..<dot])
            fileExtension = String(base[dot...])
        } else {
            stem = base
            fileExtension = ""
        }
    }

    /// The name of a backup made at `millisecondsSinceEpoch` (UTC).
    func name(atMilliseconds millisecondsSinceEpoch: Int64) -> String {
        "\(stem)-\(Self.timestamp(millisecondsSinceEpoch))\(fileExtension)"
    }

    /// When the backup named `fileName` was made, in milliseconds since the epoch; nil when the name is not a
    /// backup's.
    func backupTime(of fileName: String) -> Int64? {
        let prefix = stem + "-"
        guard fileName.utf8.starts(with: prefix.utf8) else { return nil }
        let rest = fileName.utf8.dropFirst(prefix.utf8.count)
        for suffix in [fileExtension, fileExtension + ".gz"] where rest.count >= suffix.utf8.count {
            guard rest.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) else { continue }
            if let time = Self.parseTimestamp(rest.dropLast(suffix.utf8.count)) { return time }
        }
        return nil
    }

    /// The backups to delete among `fileNames`: past the newest `maxBackups` (0 keeps any number; a backup and
    /// its `.gz` count once) and then those made more than `maxAgeDays` days of 24 hours before `now` (0 keeps
    /// any age).
    func expired(among fileNames: [String], nowMilliseconds now: Int64, maxBackups: Int, maxAgeDays: Int) -> [String] {
        guard maxBackups > 0 || maxAgeDays > 0 else { return [] }
        var backups = fileNames.compactMap { name in backupTime(of: name).map { (name: name, time: $0) } }
        backups.sort { $0.time > $1.time }
        var expired: [String] = []
        if maxBackups > 0 {
            var kept: Set<String> = []
            var remaining: [(name: String, time: Int64)] = []
            for backup in backups {
                let uncompressed =
                    backup.name.goHasSuffix(".gz")
                    ? String(decoding: backup.name.utf8.dropLast(3), as: UTF8.self) : backup.name
                kept.insert(uncompressed)
                if kept.count > maxBackups {
                    expired.append(backup.name)
                } else {
                    remaining.append(backup)
                }
            }
            backups = remaining
        }
        if maxAgeDays > 0 {
            // Saturating: a maximum age past what milliseconds hold keeps everything.
            let (age, tooOld) = Int64(maxAgeDays).multipliedReportingOverflow(by: 86_400_000)
            let (difference, beforeTime) = now.subtractingReportingOverflow(age)
            let cutoff = tooOld || beforeTime ? Int64.min : difference
            expired += backups.filter { $0.time < cutoff }.map(\.name)
        }
        return expired
    }

    // MARK: - The timestamp, Go layout 2006-01-02T15-04-05.000 in UTC

    static func timestamp(_ millisecondsSinceEpoch: Int64) -> String {
        let (days, milliseconds) = millisecondsSinceEpoch.quotientAndRemainder(dividingBy: 86_400_000)
        let (day, dayMilliseconds) = milliseconds < 0 ? (days - 1, milliseconds + 86_400_000) : (days, milliseconds)
        let (year, month, dayOfMonth) = AuditTimestamp.civil(fromDays: day)
        let seconds = dayMilliseconds / 1000
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))T\(pad(seconds / 3600, 2))-"
            + "\(pad(seconds / 60 % 60, 2))-\(pad(seconds % 60, 2)).\(pad(dayMilliseconds % 1000, 3))"
    }

    /// Reads the layout as Go's `time.Parse` does: four-digit year, two-digit month, day, minute and second, a
    /// one- or two-digit hour, and `.` or `,` before three characters of milliseconds; each in its range.
    static func parseTimestamp(_ text: Substring.UTF8View) -> Int64? {
        var bytes = text[...]
        func number(_ minimumDigits: Int, _ maximumDigits: Int) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while count < maximumDigits, let byte = bytes.first, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                bytes = bytes.dropFirst()
                count += 1
            }
            return count >= minimumDigits ? value : nil
        }
        func literal(_ byte: UInt8) -> Bool {
            guard bytes.first == byte else { return false }
            bytes = bytes.dropFirst()
            return true
        }
        let dash = UInt8(ascii: "-")
        guard let year = number(4, 4), literal(dash), let month = number(2, 2), literal(dash),
            let day = number(2, 2), literal(UInt8(ascii: "T")), let hour = number(1, 2), literal(dash),
            let minute = number(2, 2), literal(dash), let second = number(2, 2),
            literal(UInt8(ascii: ".")) || literal(UInt8(ascii: ","))
        else { return nil }
        // Go reads the three characters after the separator as an integer, so a `+` may lead them.
        guard bytes.count == 3 else { return nil }
        _ = literal(UInt8(ascii: "+"))
        guard let millisecond = number(1, 3), bytes.isEmpty else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
            second < 60
        else { return nil }
        let days = AuditTimestamp.days(fromCivilYear: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millisecond
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
