import AuditBatcher
import Testing

@Suite("Batching: when a batch is cut")
struct BatchingTriggerTests {
    let time = FakeTime()

    @Test func batchIsSentAsSoonAsMaxBatchSizeEventsArePending() {
        var batcher = makeMachine(maxBatchSize: 3)
        #expect(batcher.enqueue([0, 1], now: time.at(0)) == .accepted(2))
        #expect(batcher.tick(now: time.at(0)) == [.wait(until: time.at(30))])
        #expect(batcher.enqueue(2, now: time.at(1)) == .accepted(1))
        #expect(batcher.tick(now: time.at(1)) == [.send(AuditBatch(id: 1, eventIDs: [0, 1, 2]))])
        #expect(batcher.pendingCount == 0)
    }

    @Test func batchIsSentWhenTheOldestEventHasWaitedMaxBatchWait() {
        var batcher = makeMachine(maxBatchSize: 400)
        _ = batcher.enqueue(0, now: time.at(0))
        _ = batcher.enqueue(1, now: time.at(10))
        #expect(batcher.tick(now: time.at(29.9)) == [.wait(until: time.at(30))])
        #expect(batcher.tick(now: time.at(30)) == [.send(AuditBatch(id: 1, eventIDs: [0, 1]))])
    }

    @Test func banyanWaitOfFiveMinutesIsHonoured() {
        var batcher = BatchingStateMachine<Int>(
            configuration: BatchingConfiguration(maxBatchWait: BatchingConfiguration.banyanMaxBatchWait))
        _ = batcher.enqueue(0, now: time.at(0))
        #expect(batcher.tick(now: time.at(30)) == [.wait(until: time.at(300))])
        #expect(batcher.tick(now: time.at(300)).sentBatch?.eventIDs == [0])
    }

    @Test func sizeCutsFirstThenTheRemainderGoesWhenItsOldestEventIsDue() {
        var batcher = makeMachine(maxBatchSize: 3)
        _ = batcher.enqueue([0, 1, 2, 3, 4], now: time.at(0))
        #expect(batcher.tick(now: time.at(0)) == [.send(AuditBatch(id: 1, eventIDs: [0, 1, 2]))])
        // The two left over were enqueued at 0, so they are due at 30 whatever happens meanwhile.
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(1)) == [.wait(until: time.at(30))])
        #expect(batcher.tick(now: time.at(30)) == [.send(AuditBatch(id: 2, eventIDs: [3, 4]))])
    }

    @Test func oldPendingEventsAreSentRightAfterTheBatchAheadOfThemIsAcknowledged() {
        var batcher = makeMachine(maxBatchSize: 2)
        _ = batcher.enqueue([0, 1, 2], now: time.at(0))
        #expect(batcher.tick(now: time.at(0)).sentBatch?.eventIDs == [0, 1])
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(45)).sentBatch?.eventIDs == [2])
    }

    @Test func nothingIsDueWhenNothingIsPending() {
        var batcher = makeMachine()
        #expect(batcher.tick(now: time.at(0)) == [])
        #expect(batcher.isIdle)
    }

    @Test func onlyOneBatchIsInFlightAtATime() {
        var batcher = makeMachine(maxBatchSize: 1)
        _ = batcher.enqueue([0, 1, 2], now: time.at(0))
        #expect(batcher.tick(now: time.at(0)).sentBatch?.id == 1)
        #expect(batcher.tick(now: time.at(60)) == [])
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(61)).sentBatch?.id == 2)
    }

    @Test func throttleLetsABurstThroughThenOneBatchPerToken() {
        var batcher = makeMachine(maxBatchSize: 1, throttle: BatchingConfiguration.Throttle(qps: 2, burst: 3))
        _ = batcher.enqueue(Array(0..<6), now: time.at(0))
        #expect(batcher.tick(now: time.at(0)).sentBatch?.eventIDs == [0])
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(0)).sentBatch?.eventIDs == [1])
        #expect(batcher.sendSucceeded(batchID: 2, now: time.at(0)).sentBatch?.eventIDs == [2])
        // The burst of 3 is spent; at 2 per second the next token is there half a second later.
        let throttled = batcher.sendSucceeded(batchID: 3, now: time.at(0))
        #expect(throttled.sentBatch == nil)
        #expect(abs(time.waitOffset(throttled)! - 0.5) < 1e-6)
        #expect(batcher.tick(now: time.at(0.5)).sentBatch?.eventIDs == [3])
        let next = batcher.sendSucceeded(batchID: 4, now: time.at(0.5))
        #expect(abs(time.waitOffset(next)! - 1.0) < 1e-6)
    }

    @Test func throttleTokensRefillUpToTheBurstWhileIdle() {
        var batcher = makeMachine(maxBatchSize: 1, throttle: BatchingConfiguration.Throttle(qps: 1, burst: 2))
        _ = batcher.enqueue([0, 1, 2], now: time.at(0))
        #expect(batcher.tick(now: time.at(0)).sentBatch != nil)
        #expect(batcher.sendSucceeded(batchID: 1, now: time.at(0)).sentBatch != nil)
        #expect(batcher.sendSucceeded(batchID: 2, now: time.at(100)).sentBatch?.eventIDs == [2])
        _ = batcher.enqueue([3, 4, 5], now: time.at(100))
        #expect(batcher.sendSucceeded(batchID: 3, now: time.at(100)).sentBatch?.eventIDs == [3])
        let throttled = batcher.sendSucceeded(batchID: 4, now: time.at(100))
        #expect(abs(time.waitOffset(throttled)! - 101) < 1e-6)
    }

    @Test func enqueueReportsBufferFullAndTakesOnlyWhatFits() {
        var batcher = makeMachine(maxBatchSize: 2, bufferSize: 3)
        #expect(batcher.enqueue([0, 1, 2, 3, 4], now: time.at(0)) == .bufferFull(accepted: 3, refused: 2))
        #expect(batcher.freeBufferSpace == 0)
        #expect(batcher.enqueue(9, now: time.at(0)) == .bufferFull(accepted: 0, refused: 1))
        // Cutting a batch frees room: the refused events, still spooled, can be offered again.
        #expect(batcher.tick(now: time.at(0)).sentBatch?.eventIDs == [0, 1])
        #expect(batcher.freeBufferSpace == 2)
        #expect(batcher.enqueue([3, 4], now: time.at(1)) == .accepted(2))
    }

    @Test func oldestUnsentAgeCountsUntilTheSinkAcknowledges() {
        var batcher = makeMachine(maxBatchSize: 2)
        #expect(batcher.oldestUnsentAge(now: time.at(0)) == .zero)
        _ = batcher.enqueue(0, now: time.at(0))
        _ = batcher.enqueue(1, now: time.at(5))
        _ = batcher.enqueue(2, now: time.at(8))
        #expect(batcher.oldestUnsentEnqueuedAt == time.at(0))
        #expect(batcher.tick(now: time.at(8)).sentBatch?.eventIDs == [0, 1])
        // In flight is not yet delivered.
        #expect(batcher.oldestUnsentAge(now: time.at(12)) == .seconds(12))
        _ = batcher.sendSucceeded(batchID: 1, now: time.at(12))
        #expect(batcher.oldestUnsentAge(now: time.at(12)) == .seconds(4))
    }

    @Test func countersTrackSentBatchesAndEvents() {
        var batcher = makeMachine(maxBatchSize: 2)
        _ = batcher.enqueue([0, 1, 2, 3], now: time.at(0))
        _ = batcher.tick(now: time.at(0))
        _ = batcher.sendSucceeded(batchID: 1, now: time.at(0))
        _ = batcher.sendSucceeded(batchID: 2, now: time.at(0))
        #expect(batcher.counters.batchesSent == 2)
        #expect(batcher.counters.eventsSent == 4)
        #expect(batcher.counters.batchesFailed == 0)
        #expect(batcher.isIdle)
    }

    @Test func reportsForUnknownBatchesAreIgnored() {
        var batcher = makeMachine(maxBatchSize: 1)
        _ = batcher.enqueue(0, now: time.at(0))
        _ = batcher.tick(now: time.at(0))
        #expect(batcher.sendSucceeded(batchID: 99, now: time.at(1)) == [])
        #expect(batcher.sendFailed(batchID: 99, now: time.at(1), kind: .unauthorized) == [])
        #expect(batcher.outstandingBatch?.id == 1)
        #expect(batcher.counters == BatchingCounters())
    }
}
