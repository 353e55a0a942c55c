import AuditBatcher
import Testing

@Suite("Batching: failures, back-off and shutdown")
struct BatchingFailureTests {
    let time = FakeTime()

    /// Sends one batch at `start` and fails it repeatedly, returning each back-off delay.
    private func backOffDelays(
        _ batcher: inout BatchingStateMachine<Int>, failures: Int, kind: BatchSendFailure = .retryable(retryAfter: nil)
    ) -> [Double] {
        _ = batcher.enqueue(0, now: time.at(0))
        var now = 0.0
        #expect(batcher.flush(now: time.at(now)).sentBatch != nil)
        var delays: [Double] = []
        for _ in 0..<failures {
            let actions = batcher.sendFailed(batchID: 1, now: time.at(now), kind: kind)
            guard let until = time.waitOffset(actions) else { break }
            delays.append(until - now)
            now = until
            #expect(batcher.tick(now: time.at(now)).sentBatch?.id == 1)
        }
        return delays
    }

    private func expectClose(_ actual: [Double], _ expected: [Double]) {
        #expect(actual.count == expected.count)
        for (a, e) in zip(actual, expected) {
            #expect(abs(a - e) < 1e-6, "\(actual) vs \(expected)")
        }
    }

    @Test func backOffDoublesFromTheInitialDelayAndIsCappedAtFiveMinutes() {
        var batcher = makeMachine(jitter: [ScriptedJitter.middle])
        expectClose(backOffDelays(&batcher, failures: 8), [10, 20, 40, 80, 160, 300, 300, 300])
        #expect(batcher.counters.batchesFailed == 8)
    }

    /// `--audit-webhook-initial-backoff=0`: the batch is still retried more slowly each time,
    /// from 100 ms, not in a loop that never waits.
    @Test(arguments: [Duration.zero, .milliseconds(1)])
    func aTinyInitialBackOffStillBacksOff(initial: Duration) {
        var batcher = makeMachine(initialBackoff: initial, jitter: [ScriptedJitter.middle])
        _ = batcher.enqueue(0, now: time.at(0))
        #expect(batcher.flush(now: time.at(0)).sentBatch != nil)
        var now = time.at(0)
        var delays: [Double] = []
        for _ in 0..<4 {
            let actions = batcher.sendFailed(batchID: 1, now: now, kind: .retryable(retryAfter: nil))
            guard case .wait(let until)? = actions.first else { break }
            delays.append(time.seconds(until) - time.seconds(now))
            // Nothing goes out before the back-off ends.
            #expect(batcher.tick(now: now).sentBatch == nil)
            now = until
            #expect(batcher.tick(now: now).sentBatch?.id == 1)
        }
        expectClose(delays, [0.1, 0.2, 0.4, 0.8])
    }

    /// A batch whose events vanished (dropped from a full spool) settles without a send: the
    /// back-off against a failing sink goes on doubling rather than start over.
    @Test func aBatchThatNeedsNoSendLeavesTheBackOffInForce() {
        var batcher = makeMachine(jitter: [ScriptedJitter.middle])
        _ = batcher.enqueue(0, now: time.at(0))
        #expect(batcher.flush(now: time.at(0)).sentBatch?.id == 1)
        let first = batcher.sendFailed(batchID: 1, now: time.at(0), kind: .retryable(retryAfter: nil))
        #expect(time.waitOffset(first) == 10)
        #expect(batcher.tick(now: time.at(10)).sentBatch?.id == 1)
        _ = batcher.enqueue(1, now: time.at(10))
        let next = batcher.sendUnneeded(batchID: 1, now: time.at(10))
        let second = try? #require(next.sentBatch)
        #expect(second?.eventIDs == [1])
        let failed = batcher.sendFailed(batchID: second?.id ?? 0, now: time.at(10), kind: .retryable(retryAfter: nil))
        #expect(time.waitOffset(failed).map { $0 - 10 } == 20)
        #expect(batcher.counters.batchesSent == 0)
    }

    @Test func jitterShortensByUpToTwentyPercent() {
        var batcher = makeMachine(jitter: [ScriptedJitter.low])
        expectClose(backOffDelays(&batcher, failures: 7), [8, 16, 32, 64, 128, 240, 240])
    }

    @Test func jitterLengthensByUpToTwentyPercentButNeverPastTheCap() {
        var batcher = makeMachine(jitter: [ScriptedJitter.high])
        expectClose(backOffDelays(&batcher, failures: 6), [12, 24, 48, 96, 192, 300])
    }

    @Test func jitterFollowsTheInjectedSource() {
        var batcher = makeMachine(jitter: [ScriptedJitter.low, ScriptedJitter.high, ScriptedJitter.middle])
        expectClose(backOffDelays(&batcher, failures: 3), [8, 24, 40])
    }

    @Test func longerRetryAfterWinsOverTheBackOff() {
        var batcher = makeMachine()
        expectClose(backOffDelays(&batcher, failures: 1, kind: .retryable(retryAfter: .seconds(120))), [120])
    }

    /// A `Retry-After` of `Int.max` seconds trapped computing the deadline (the whole proxy went
    /// down); one of hours stalled shipping while the spool filled.
    @Test func retryAfterIsCappedAtFiveMinutesToo() {
        var batcher = makeMachine()
        expectClose(backOffDelays(&batcher, failures: 1, kind: .retryable(retryAfter: .seconds(Int64.max))), [300])
        var hours = makeMachine()
        expectClose(backOffDelays(&hours, failures: 1, kind: .retryable(retryAfter: .seconds(7200))), [300])
    }

    @Test func shorterRetryAfterDoesNotShortenTheBackOff() {
        var batcher = makeMachine()
        expectClose(backOffDelays(&batcher, failures: 1, kind: .retryable(retryAfter: .seconds(2))), [10])
    }

    @Test func successResetsTheBackOff() {
        var batcher = makeMachine(maxBatchSize: 1)
        _ = batcher.enqueue([0, 1], now: time.at(0))
        _ = batcher.tick(now: time.at(0))
        _ = batcher.sendFailed(batchID: 1, now: time.at(0), kind: .retryable(retryAfter: nil))
        _ = batcher.tick(now: time.at(10))
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(10)).sentBatch?.id == 2)
        let actions = batcher.sendFailed(batchID: 2, now: time.at(10), kind: .retryable(retryAfter: nil))
        #expect(time.waitOffset(actions) == 20)
    }

    @Test func failedBatchIsResentUnchangedBeforeNewerEvents() {
        var batcher = makeMachine(maxBatchSize: 2)
        _ = batcher.enqueue([0, 1], now: time.at(0))
        #expect(batcher.tick(now: time.at(0)) == [.send(AuditBatch(id: 1, eventIDs: [0, 1]))])
        #expect(
            batcher.sendFailed(batchID: 1, now: time.at(1), kind: .retryable(retryAfter: nil))
                == [.wait(until: time.at(11))])
        _ = batcher.enqueue([2, 3], now: time.at(2))
        #expect(batcher.tick(now: time.at(2)) == [.wait(until: time.at(11))])
        #expect(batcher.tick(now: time.at(11)) == [.send(AuditBatch(id: 1, eventIDs: [0, 1], attempt: 2))])
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(12)) == [.send(AuditBatch(id: 2, eventIDs: [2, 3]))])
    }

    @Test func batchRejectedWithA4xxIsDroppedAfterFiveAttempts() {
        var batcher = makeMachine(maxBatchSize: 2)
        _ = batcher.enqueue([0, 1, 2, 3], now: time.at(0))
        #expect(batcher.tick(now: time.at(0)).sentBatch?.id == 1)
        var now = 0.0
        for attempt in 1...4 {
            let actions = batcher.sendFailed(batchID: 1, now: time.at(now), kind: .rejected(statusCode: 400))
            now = time.waitOffset(actions)!
            #expect(batcher.tick(now: time.at(now)).sentBatch?.attempt == attempt + 1)
        }
        let actions = batcher.sendFailed(batchID: 1, now: time.at(now), kind: .rejected(statusCode: 400))
        // The next batch is not held back by the dropped one's back-off.
        #expect(
            actions == [
                .drop(AuditBatch(id: 1, eventIDs: [0, 1], attempt: 5), .rejected(statusCode: 400, attempts: 5)),
                .send(AuditBatch(id: 2, eventIDs: [2, 3])),
            ])
        #expect(batcher.counters.batchesDropped == 1)
        #expect(batcher.counters.eventsDropped == 2)
        #expect(batcher.counters.batchesFailed == 5)
    }

    @Test func unauthorizedRefreshesCredentialsAndResendsAtOnce() {
        var batcher = makeMachine(maxBatchSize: 1)
        _ = batcher.enqueue([0, 1], now: time.at(0))
        _ = batcher.tick(now: time.at(0))
        #expect(
            batcher.sendFailed(batchID: 1, now: time.at(1), kind: .unauthorized)
                == [.refreshCredentials, .send(AuditBatch(id: 1, eventIDs: [0], attempt: 2))])
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(1)).sentBatch?.id == 2)
    }

    @Test func secondUnauthorizedInARowBacksOffThenRefreshesAgain() {
        var batcher = makeMachine(maxBatchSize: 1)
        _ = batcher.enqueue(0, now: time.at(0))
        _ = batcher.tick(now: time.at(0))
        _ = batcher.sendFailed(batchID: 1, now: time.at(0), kind: .unauthorized)
        #expect(batcher.sendFailed(batchID: 1, now: time.at(1), kind: .unauthorized) == [.wait(until: time.at(11))])
        #expect(
            batcher.tick(now: time.at(11)) == [
                .refreshCredentials, .send(AuditBatch(id: 1, eventIDs: [0], attempt: 3)),
            ])
        let third = batcher.sendFailed(batchID: 1, now: time.at(11), kind: .unauthorized)
        #expect(time.waitOffset(third) == 31)
    }

    @Test func unauthorizedAfterAnotherFailureStartsANewRun() {
        var batcher = makeMachine(maxBatchSize: 1)
        _ = batcher.enqueue(0, now: time.at(0))
        _ = batcher.tick(now: time.at(0))
        _ = batcher.sendFailed(batchID: 1, now: time.at(0), kind: .unauthorized)
        _ = batcher.sendFailed(batchID: 1, now: time.at(0), kind: .retryable(retryAfter: nil))
        _ = batcher.tick(now: time.at(10))
        #expect(batcher.sendFailed(batchID: 1, now: time.at(10), kind: .unauthorized).first == .refreshCredentials)
    }

    @Test func flushSendsPendingEventsAtOnceIgnoringWaitAndThrottle() {
        var batcher = makeMachine(maxBatchSize: 2, throttle: BatchingConfiguration.Throttle(qps: 0.001, burst: 1))
        _ = batcher.enqueue([0, 1], now: time.at(0))
        #expect(batcher.tick(now: time.at(0)).sentBatch?.eventIDs == [0, 1])
        _ = batcher.enqueue([2, 3, 4], now: time.at(0))
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(1)).sentBatch == nil)
        #expect(batcher.flush(now: time.at(1)).sentBatch?.eventIDs == [2, 3])
        #expect(batcher.isFlushing)
        #expect(batcher.sendSucceeded(batchID: 2, now: time.at(1)).sentBatch?.eventIDs == [4])
        #expect(batcher.sendSucceeded(batchID: 3, now: time.at(1)) == [])
        #expect(batcher.isIdle)
    }

    @Test func flushStillWaitsForTheBackOffUnlessForced() {
        var batcher = makeMachine()
        _ = batcher.enqueue(0, now: time.at(0))
        _ = batcher.flush(now: time.at(0))
        _ = batcher.sendFailed(batchID: 1, now: time.at(0), kind: .retryable(retryAfter: nil))
        #expect(batcher.flush(now: time.at(1)) == [.wait(until: time.at(10))])
        #expect(batcher.flush(now: time.at(1), force: true) == [.send(AuditBatch(id: 1, eventIDs: [0], attempt: 2))])
        // Forcing is once: a dead sink is not hammered during shutdown.
        let again = batcher.sendFailed(batchID: 1, now: time.at(1), kind: .retryable(retryAfter: nil))
        #expect(time.waitOffset(again) == 21)
    }
}
