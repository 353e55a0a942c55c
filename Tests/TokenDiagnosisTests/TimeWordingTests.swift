import Foundation
import Testing
import TokenDiagnosis

@Suite struct TimeWordingTests {
    @Test(arguments: [
        (0.0, "0s"), (45, "45s"), (60, "1m"), (750, "12m30s"), (3600, "1h"), (11520, "3h12m"), (86400, "1d"),
        (187_200, "2d4h"), (-90, "1m30s"),
    ])
    func spansUseTheirTwoLargestUnits(_ seconds: Double, _ words: String) {
        #expect(TimeWording.span(seconds) == words)
    }

    @Test func timesAreShownInUTC() {
        #expect(TimeWording.utc(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00:00 UTC")
        #expect(TimeWording.utc(Date(timeIntervalSince1970: 1_750_000_000)) == "2025-06-15 15:06:40 UTC")
    }
}
