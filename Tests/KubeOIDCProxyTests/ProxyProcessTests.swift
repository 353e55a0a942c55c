import Foundation
import TestSupport
import Testing

/// The child-process fixture every end-to-end test stands on: it must neither starve Swift
/// concurrency's cooperative pool (as many threads as cores) nor stall a talkative child.
@Suite struct ProxyProcessTests {
    @Test func outputLargerThanAPipeHoldsIsReadWhole() async throws {
        let result = try await ProxyProcess.runTool("/usr/bin/env", ["head", "-c", "1000000", "/dev/zero"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.utf8.count == 1_000_000)
    }

    /// More children than the pool has threads, all awaited at once: the test's own task gets a
    /// thread back after its short sleep, long before the children would exit (timings this loose
    /// hold on a loaded machine); cancelled, the waits kill their children.
    @Test func awaitingChildrenHoldsNoCooperativeThread() async {
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<ProcessInfo.processInfo.activeProcessorCount + 2 {
                group.addTask { _ = try? await ProxyProcess.runTool("/usr/bin/env", ["sleep", "20"]) }
            }
            try? await Task.sleep(for: .milliseconds(100))
            #expect(ContinuousClock.now - started < .seconds(15), "a thread was held until the children exited")
            group.cancelAll()
        }
        #expect(ContinuousClock.now - started < .seconds(15), "cancelled waits left their children running")
    }
}
