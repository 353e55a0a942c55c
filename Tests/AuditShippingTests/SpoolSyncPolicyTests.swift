import Testing

@testable import AuditShipping

/// When the spool is fsynced: only for events that wait for the sink, a second after the oldest
/// of them arrived, at most once a second. Pure, on made-up instants.
@Suite struct SpoolSyncPolicyTests {
    let start = ContinuousClock.now

    /// A mutating call's answer, for `#expect`, which cannot mutate.
    func sync(_ policy: inout SpoolSyncPolicy, _ call: (inout SpoolSyncPolicy) -> Bool) -> Bool {
        call(&policy)
    }

    func at(_ milliseconds: Int) -> ContinuousClock.Instant {
        start + .milliseconds(milliseconds)
    }

    @Test func nothingAppendedIsNeverDue() {
        var policy = SpoolSyncPolicy()
        #expect(policy.dueAt(oldestUnacknowledgedSince: at(0)) == nil)
        #expect(!sync(&policy) { $0.syncNow(at: at(60_000), oldestUnacknowledgedSince: at(0)) })
    }

    @Test func eventsTheSinkAlreadyTookAreNeverSynced() {
        var policy = SpoolSyncPolicy()
        policy.appended()
        #expect(policy.dueAt(oldestUnacknowledgedSince: nil) == nil)
        #expect(!sync(&policy) { $0.syncNow(at: at(60_000), oldestUnacknowledgedSince: nil) })
        #expect(policy.hasUnsynced)
    }

    @Test func anEventWaitingForTheSinkIsSyncedOneIntervalAfterItArrived() {
        var policy = SpoolSyncPolicy()
        policy.appended()
        #expect(policy.dueAt(oldestUnacknowledgedSince: at(100)) == at(1_100))
        #expect(!sync(&policy) { $0.syncNow(at: at(1_099), oldestUnacknowledgedSince: at(100)) })
        #expect(sync(&policy) { $0.syncNow(at: at(1_100), oldestUnacknowledgedSince: at(100)) })
        // Synced: nothing more is owed until the next append, however long the event waits.
        #expect(policy.dueAt(oldestUnacknowledgedSince: at(100)) == nil)
        #expect(!sync(&policy) { $0.syncNow(at: at(30_000), oldestUnacknowledgedSince: at(100)) })
    }

    @Test func whileEventsWaitSyncsComeAtMostOnceAnInterval() {
        var policy = SpoolSyncPolicy()
        policy.appended()
        #expect(sync(&policy) { $0.syncNow(at: at(1_000), oldestUnacknowledgedSince: at(0)) })
        // The sink is down: the oldest event has waited long, new ones keep coming.
        policy.appended()
        #expect(policy.dueAt(oldestUnacknowledgedSince: at(0)) == at(2_000))
        #expect(!sync(&policy) { $0.syncNow(at: at(1_500), oldestUnacknowledgedSince: at(0)) })
        #expect(sync(&policy) { $0.syncNow(at: at(2_000), oldestUnacknowledgedSince: at(0)) })
    }

    @Test func aLaterEventIsOwedItsSyncFromWhenTheOldestWaitingOneArrived() {
        var policy = SpoolSyncPolicy(interval: .milliseconds(500))
        policy.appended()
        #expect(sync(&policy) { $0.syncNow(at: at(500), oldestUnacknowledgedSince: at(0)) })
        // Acknowledged meanwhile; a new event at 2 s is now the oldest waiting.
        policy.appended()
        #expect(policy.dueAt(oldestUnacknowledgedSince: at(2_000)) == at(2_500))
    }

    @Test func shutdownSyncsOnlyWhatStillWaitsForTheSink() {
        var policy = SpoolSyncPolicy()
        #expect(!sync(&policy) { $0.syncAtShutdown(unacknowledged: true) })
        policy.appended()
        #expect(!sync(&policy) { $0.syncAtShutdown(unacknowledged: false) })
        policy.appended()
        #expect(sync(&policy) { $0.syncAtShutdown(unacknowledged: true) })
        #expect(!sync(&policy) { $0.syncAtShutdown(unacknowledged: true) })
    }
}
