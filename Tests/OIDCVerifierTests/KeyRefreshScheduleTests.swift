import Foundation
import Testing

@testable import OIDCVerifier

/// The JWKS fetch decisions, driven by a fake clock.
@Suite struct KeyRefreshScheduleTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func unknownKeyFetchesAreLimitedToTheBurstThenTheRefillRate() {
        var schedule = KeyRefreshSchedule(now: start)
        let admitted = (0..<100).filter { _ in schedule.admitUnknownKeyFetch(now: start) }.count
        #expect(admitted == 3)
        // One more token every 20 s: a minute of flooding admits three more fetches at most.
        var later = 0
        for second in stride(from: 1.0, through: 60, by: 1) {
            for _ in 0..<50 where schedule.admitUnknownKeyFetch(now: start.addingTimeInterval(second)) { later += 1 }
        }
        #expect(later == 3)
    }

    @Test func bucketRefillsOnlyToItsBurst() {
        var schedule = KeyRefreshSchedule(now: start)
        let muchLater = start.addingTimeInterval(86400)
        let admitted = (0..<10).filter { _ in schedule.admitUnknownKeyFetch(now: muchLater) }.count
        #expect(admitted == 3)
    }

    @Test func maxAgeSchedulesTheNextRefresh() {
        var schedule = KeyRefreshSchedule(now: start)
        schedule.fetchSucceeded(now: start, maxAge: 600)
        #expect(schedule.delayUntilNextRefresh(now: start) == 600)
        #expect(schedule.delayUntilNextRefresh(now: start.addingTimeInterval(700)) == 0)
    }

    @Test func maxAgeIsClampedBetweenTheBounds() {
        var schedule = KeyRefreshSchedule(now: start)
        schedule.fetchSucceeded(now: start, maxAge: 0)
        #expect(schedule.delayUntilNextRefresh(now: start) == 30)
        schedule.fetchSucceeded(now: start, maxAge: 10 * 86400)
        #expect(schedule.delayUntilNextRefresh(now: start) == 3600)
        schedule.fetchSucceeded(now: start, maxAge: nil)
        #expect(schedule.delayUntilNextRefresh(now: start) == 3600)
    }

    @Test func failuresBackOffExponentiallyToTheCap() {
        var schedule = KeyRefreshSchedule(now: start)
        let delays = (0..<8).map { _ in schedule.fetchFailed(now: start) }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30])
        schedule.fetchSucceeded(now: start, maxAge: 60)
        #expect(schedule.consecutiveFailures == 0)
        #expect(schedule.fetchFailed(now: start) == 1)
    }

    @Test func aNewScheduleWantsAFetchAtOnce() {
        #expect(KeyRefreshSchedule(now: start).delayUntilNextRefresh(now: start) == 0)
    }

    @Test func cacheControlMaxAgeIsParsed() {
        #expect(IssuerClient.maxAge(["public, max-age=3600"]) == 3600)
        #expect(IssuerClient.maxAge(["no-cache", "Max-Age = 20"]) == 20)
        #expect(IssuerClient.maxAge(["no-store"]) == nil)
        #expect(IssuerClient.maxAge(["max-age=-1"]) == nil)
        #expect(IssuerClient.maxAge([]) == nil)
    }
}
