import Testing

@testable import AuditShipping

/// When spooled events arrived, for the oldest-unsent gauge and the sync an event is owed.
@Suite struct ArrivalLogTests {
    let zero = ContinuousClock.now

    @Test func marksAreOnePerGrainAndAnswerNoLaterThanTheArrival() {
        var log = ArrivalLog(grain: .milliseconds(100))
        log.appended(first: 1, at: zero)
        log.appended(first: 5, at: zero + .milliseconds(40))  // same grain: no mark
        log.appended(first: 9, at: zero + .milliseconds(150))
        log.appended(first: 20, at: zero + .seconds(3600))
        #expect(log.count == 3)
        #expect(log.arrival(of: 1) == zero)
        // Arrived at 40 ms: answered as the grain's start, earlier, never later.
        #expect(log.arrival(of: 6) == zero)
        #expect(log.arrival(of: 9) == zero + .milliseconds(150))
        #expect(log.arrival(of: 19) == zero + .milliseconds(150))
        #expect(log.arrival(of: 20) == zero + .seconds(3600))
        #expect(log.arrival(of: 25) == zero + .seconds(3600))
        // The marks before the one asked about are let go.
        #expect(log.count == 1)
    }

    @Test func anEventFromBeforeTheLogHasNoArrival() {
        var log = ArrivalLog()
        #expect(log.arrival(of: 1) == nil)
        log.appended(first: 100, at: zero)
        #expect(log.arrival(of: 42) == nil)
        #expect(log.arrival(of: 100) == zero)
    }

    /// A long backlog keeps one mark per grain, and letting them go as they are acknowledged
    /// stays cheap (in bulk) and right.
    @Test func aLongBacklogIsLetGoInOrder() {
        var log = ArrivalLog(grain: .seconds(1))
        for second in 0..<5_000 { log.appended(first: UInt64(second * 10 + 1), at: zero + .seconds(second)) }
        #expect(log.count == 5_000)
        for second in stride(from: 0, to: 5_000, by: 7) {
            #expect(log.arrival(of: UInt64(second * 10 + 3)) == zero + .seconds(second))
        }
        #expect(log.count < 10)
    }
}
