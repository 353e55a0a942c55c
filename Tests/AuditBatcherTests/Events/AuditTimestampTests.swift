import AuditBatcher
import Foundation
import Testing

@Suite struct AuditTimestampTests {
    @Test func timestampIsRFC3339InUTCWithSixFractionalDigits() {
        let stamp = AuditTimestamp(microsecondsSinceEpoch: 1_795_626_000_123_456)
        #expect(stamp.rfc3339 == "2026-11-25T17:00:00.123456Z")
        #expect(AuditTimestamp(microsecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000000Z")
        #expect(AuditTimestamp(microsecondsSinceEpoch: 7).rfc3339 == "1970-01-01T00:00:00.000007Z")
    }

    @Test func calendarEdgesAreExact() {
        #expect(AuditTimestamp(rfc3339: "2024-02-29T23:59:59.999999Z")!.rfc3339 == "2024-02-29T23:59:59.999999Z")
        #expect(AuditTimestamp(rfc3339: "2000-12-31T00:00:00.5Z")!.rfc3339 == "2000-12-31T00:00:00.500000Z")
        #expect(AuditTimestamp(rfc3339: "1969-12-31T23:59:59.999999Z")!.microsecondsSinceEpoch == -1)
        #expect(AuditTimestamp(microsecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999999Z")
    }

    @Test func parsingAcceptsOffsetsAndExtraDigits() {
        #expect(AuditTimestamp(rfc3339: "2026-11-25T19:00:00.123456+02:00")!.rfc3339 == "2026-11-25T17:00:00.123456Z")
        #expect(AuditTimestamp(rfc3339: "2026-11-25T17:00:00.123456789Z")!.rfc3339 == "2026-11-25T17:00:00.123456Z")
        #expect(AuditTimestamp(rfc3339: "2026-11-25T17:00:00Z")!.rfc3339 == "2026-11-25T17:00:00.000000Z")
    }

    @Test func parsingRejectsMalformedText() {
        for text in ["", "2026-11-25", "2026-13-25T17:00:00Z", "2026-11-25T17:00:00", "2026-11-25T17:00:00.Z", "x"] {
            #expect(AuditTimestamp(rfc3339: text) == nil, "\(text)")
        }
    }

    @Test func dateConversionKeepsMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_795_626_000.123456)
        #expect(AuditTimestamp(date).rfc3339 == "2026-11-25T17:00:00.123456Z")
        #expect(abs(AuditTimestamp(date).date.timeIntervalSince(date)) < 1e-6)
    }

    @Test func timestampIsCodedAsAString() throws {
        let stamp = AuditTimestamp(microsecondsSinceEpoch: 1_795_626_000_123_456)
        let encoded = try JSONEncoder().encode([stamp])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["2026-11-25T17:00:00.123456Z"]"#)
        #expect(try JSONDecoder().decode([AuditTimestamp].self, from: encoded) == [stamp])
    }
}
