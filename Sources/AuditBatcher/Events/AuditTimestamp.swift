import Foundation

/// A point in time with microsecond precision, written as Kubernetes writes `metav1.MicroTime`:
/// RFC 3339 in UTC with exactly six fractional digits, `2026-11-25T17:00:00.123456Z`.
///
/// Kept as an integer count rather than a `Date` because a `Double` of seconds does not round-trip
/// six fractional digits exactly.
public struct AuditTimestamp: Sendable, Hashable, Comparable, Codable {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// Rounds to the nearest microsecond, which absorbs the binary error of `Date`'s `Double`.
    public init(_ date: Date) {
        self.microsecondsSinceEpoch = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public var date: Date {
        Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000)
    }

    public static func < (lhs: AuditTimestamp, rhs: AuditTimestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// `2026-11-25T17:00:00.123456Z`.
    public var rfc3339: String {
        String(unsafeUninitializedCapacity: Self.rfc3339Length) { text in
            writeRFC3339(into: text)
            return Self.rfc3339Length
        }
    }

    /// Parses RFC 3339 with any number of fractional digits (beyond six are truncated) and any
    /// offset, as the API server's `MicroTime` parser accepts.
    public init?(rfc3339 text: String) {
        guard let value = Self.parse(Array(text.utf8)) else { return nil }
        self.microsecondsSinceEpoch = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = AuditTimestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not an RFC 3339 timestamp: \(text)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }

    static let rfc3339Length = 27

    /// Writes the RFC 3339 form into `text` (at least ``rfc3339Length`` bytes): straight into
    /// the event serializer's buffer, as every audit event carries two timestamps.
    func writeRFC3339(into text: UnsafeMutableBufferPointer<UInt8>) {
        let micros = microsecondsSinceEpoch
        let perDay: Int64 = 86_400_000_000
        let days = micros >= 0 ? micros / perDay : (micros - perDay + 1) / perDay
        let inDay = micros - days * perDay
        let (year, month, day) = Self.civil(fromDays: days)
        let seconds = inDay / 1_000_000
        Self.put(year, digits: 4, at: 0, in: text)
        text[4] = UInt8(ascii: "-")
        Self.put(month, digits: 2, at: 5, in: text)
        text[7] = UInt8(ascii: "-")
        Self.put(day, digits: 2, at: 8, in: text)
        text[10] = UInt8(ascii: "T")
        Self.put(seconds / 3600, digits: 2, at: 11, in: text)
        text[13] = UInt8(ascii: ":")
        Self.put(seconds / 60 % 60, digits: 2, at: 14, in: text)
        text[16] = UInt8(ascii: ":")
        Self.put(seconds % 60, digits: 2, at: 17, in: text)
        text[19] = UInt8(ascii: ".")
        Self.put(inDay % 1_000_000, digits: 6, at: 20, in: text)
        text[26] = UInt8(ascii: "Z")
    }

    /// The last `digits` decimal digits of `value` (0 when negative), zero-padded.
    private static func put(_ value: Int64, digits: Int, at offset: Int, in text: UnsafeMutableBufferPointer<UInt8>) {
        var rest = max(value, 0)
        for index in stride(from: offset + digits - 1, through: offset, by: -1) {
            text[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }

    // Howard Hinnant's `civil_from_days`/`days_from_civil`: exact proleptic Gregorian arithmetic
    // without a Calendar, which is both slow and locale-configurable.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    static func days(fromCivilYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func parse(_ text: [UInt8]) -> Int64? {
        var index = 0
        func number(_ count: Int) -> Int64? {
            guard index + count <= text.count else { return nil }
            var value: Int64 = 0
            for byte in text[index..<index + count] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < text.count, characters.utf8.contains(text[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            return nil
        }
        var micros: Int64 = 0
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < text.count, text[index] >= UInt8(ascii: "0"), text[index] <= UInt8(ascii: "9") {
                if digits < 6 { micros = micros * 10 + Int64(text[index] - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if expect("Zz") {
        } else if index < text.count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
            let sign: Int64 = text[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2) else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == text.count else { return nil }
        let days = days(fromCivilYear: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000 + micros
    }
}

extension AuditTimestamp {
    /// The `requestReceivedTimestamp` of an event as this module writes it (as a spool record
    /// holds it), found without decoding the event. Nil when it has none.
    public static func requestReceived(inEvent json: [UInt8]) -> AuditTimestamp? {
        let key = Array(#""requestReceivedTimestamp":""#.utf8)
        guard let start = json.firstRange(of: key)?.upperBound, json.count >= start + rfc3339Length else {
            return nil
        }
        return AuditTimestamp(rfc3339: String(decoding: json[start..<(start + rfc3339Length)], as: UTF8.self))
    }
}
