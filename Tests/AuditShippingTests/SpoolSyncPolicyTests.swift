import Testing

@testable import AuditShipping

/// When the spool is fsynced: only for events that wait for the sink, a second after the oldest
/// of them arrived, at most once a second. Pure, on made-up instants.
@Suite struct SpoolSyncPolicyTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant {
        start + .milliseconds(milliseconds)
    }

    // Mutating calls' answers, for `#expect`, which cannot mutate.
    func sync(_ policy: inout SpoolSyncPolicy, at milliseconds: Int) -> Bool {
        policy.syncNow(at: at(milliseconds))
    }

    func syncAtShutdown(_ policy: inout SpoolSyncPolicy, unacknowledged: Bool) -> Bool {
        policy.syncAtShutdown(unacknowledged: unacknowledged)
    }

    @Test func nothingAppendedIsNeverDue() {
        var policy = SpoolSyncPolicy()
        policy.acknowledged(oldestUnacknowledgedSince: at(0))
        #expect(policy.dueAt == nil)
        #expect(!sync(&policy, at: 60_000))
    }

    @Test func eventsTheSinkAlreadyTookAreNeverSynced() {
        var policy = SpoolSyncPolicy()
        policy.appended(oldestUnacknowledgedSince: at(0))
        #expect(policy.dueAt == at(1_000))
        policy.acknowledged(oldestUnacknowledgedSince: nil)
        #expect(policy.dueAt == nil)
        #expect(!sync(&policy, at: 60_000))
        #expect(policy.hasUnsynced)
    }

    @Test func anEventWaitingForTheSinkIsSyncedOneIntervalAfterItArrived() {
        var policy = SpoolSyncPolicy()
        policy.appended(oldestUnacknowledgedSince: at(100))
        #expect(policy.dueAt == at(1_100))
        #expect(!sync(&policy, at: 1_099))
        #expect(sync(&policy, at: 1_100))
        // Synced: nothing more is owed until the next append, however long the event waits.
        #expect(policy.dueAt == nil)
        policy.acknowledged(oldestUnacknowledgedSince: at(100))
        #expect(!sync(&policy, at: 30_000))
    }

    @Test func anAcknowledgementMovesTheDueTimeToTheNextWaitingEvent() {
        var policy = SpoolSyncPolicy()
        policy.appended(oldestUnacknowledgedSince: at(0))
        policy.acknowledged(oldestUnacknowledgedSince: at(700))
        #expect(policy.dueAt == at(1_700))
        #expect(!sync(&policy, at: 1_000))
    }

    @Test func appendsWhileASyncIsOwedDoNotReadTheOldestEventAgain() {
        var policy = SpoolSyncPolicy()
        policy.appended(oldestUnacknowledgedSince: at(0))
        var reads = 0
        func oldest() -> ContinuousClock.Instant? {
            reads += 1
            return at(0)
        }
        for _ in 0..<3 { policy.appended(oldestUnacknowledgedSince: oldest()) }
        #expect(reads == 0)
        #expect(sync(&policy, at: 1_000))
        policy.appended(oldestUnacknowledgedSince: oldest())
        #expect(reads == 1)
    }

    @Test func whileEventsWaitSyncsComeAtMostOnceAnInterval() {
        var policy = SpoolSyncPolicy()
        policy.appended(oldestUnacknowledgedSince: at(0))
        #expect(sync(&policy, at: 1_000))
        // The sink is down: the oldest event has waited long, new ones keep coming.
        policy.appended(oldestUnacknowledgedSince: at(0))
        #expect(policy.dueAt == at(2_000))
        #expect(!sync(&policy, at: 1_500))
        #expect(sync(&policy, at: 2_000))
    }

    @Test func aLaterEventIsOwedItsSyncFromWhenTheOldestWaitingOneArrived() {
        var policy = SpoolSyncPolicy(interval: .milliseconds(500))
        policy.appended(oldestUnacknowledgedSince: at(0))
        #expect(sync(&policy, at: 500))
        // Acknowledged meanwhile; a new event at 2 s is now the oldest waiting.
        policy.acknowledged(oldestUnacknowledgedSince: nil)
        policy.appended(oldestUnacknowledgedSince: at(2_000))
        #expect(policy.dueAt == at(2_500))
    }

    @Test func shutdownSyncsOnlyWhatStillWaitsForTheSink() {
        var policy = SpoolSyncPolicy()
        #expect(!syncAtShutdown(&policy, unacknowledged: true))
        policy.appended(oldestUnacknowledgedSince: at(0))
        #expect(!syncAtShutdown(&policy, unacknowledged: false))
        policy.appended(oldestUnacknowledgedSince: at(0))
        #expect(syncAtShutdown(&policy, unacknowledged: true))
        #expect(!syncAtShutdown(&policy, unacknowledged: true))
        #expect(policy.dueAt == nil)
    }
}
