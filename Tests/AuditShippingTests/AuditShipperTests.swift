import AuditBatcher
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import AuditShipping

/// The shipper's driver on a fake clock and a fake sink: what is sent when, what stays spooled,
/// what is dropped and counted. No sockets.
@Suite final class AuditShipperTests: Sendable {
    /// The spools a test opens, removed when it ends.
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("shipper")
    }

    deinit {
        scratch.remove()
    }

    func spoolDirectory() -> String {
        scratch.file(UUID().uuidString)
    }

    struct Running {
        let shipper: AuditShipper
        let sink: FakeSink
        let clock: ManualClock
        let registry: PrometheusCollectorRegistry
        let metrics: AuditMetrics
        let task: Task<Void, any Error>

        func stop() async {
            task.cancel()
            _ = await task.result
        }

        /// Lets the driver reach its next sleep before the clock moves.
        func settle() async throws {
            _ = try await eventually { clock.sleeperCount > 0 }
        }
    }

    /// A shipper on `directory`, a fresh spool by default.
    func start(
        _ batching: BatchingConfiguration = Fixtures.batching(), sink: FakeSink = FakeSink(),
        directory: String? = nil, maxBytes: UInt64 = 256 << 20, clock: ManualClock = ManualClock(),
        logger: Logger = Fixtures.logger
    ) throws -> Running {
        let registry = PrometheusCollectorRegistry()
        let metrics = AuditMetrics(registry: registry)
        let shipper = try AuditShipper(
            sink: sink,
            configuration: .init(
                batching: batching, spoolDirectory: directory ?? spoolDirectory(), spoolMaxBytes: maxBytes),
            metrics: metrics.backend(sink.backend), clock: clock, logger: logger)
        let task = Task { try await shipper.run() }
        return Running(shipper: shipper, sink: sink, clock: clock, registry: registry, metrics: metrics, task: task)
    }

    @Test func aFullBatchIsSentAtOnceAndLeavesTheSpool() async throws {
        let running = try start(Fixtures.batching(maxBatchSize: 3))
        let ids = (0..<3).map { "event-\($0)" }
        for id in ids { try running.shipper.accept([Fixtures.event(id)]) }
        #expect(try await eventually { running.sink.bodies.count == 1 })
        #expect(try running.sink.events().map(\.auditID) == ids)
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        #expect(
            running.registry.text.contains(#"kube_oidc_proxy_audit_events_total{result="accepted",backend="fake"} 3"#))
        #expect(running.registry.text.contains(#"kube_oidc_proxy_audit_batches_total{result="sent",backend="fake"} 1"#))
        #expect(running.registry.text.contains(#"kube_oidc_proxy_audit_events_total{result="sent",backend="fake"} 3"#))
        await running.stop()
    }

    @Test func aBatchGoesOutWhenItsOldestEventHasWaitedMaxWait() async throws {
        let running = try start(Fixtures.batching(maxBatchWait: .seconds(30)))
        try running.shipper.accept([Fixtures.event("a"), Fixtures.event("b")])
        try await running.settle()
        running.clock.advance(by: .seconds(29))
        try await Task.sleep(for: .milliseconds(20))
        #expect(running.sink.bodies.isEmpty)
        running.clock.advance(by: .seconds(1))
        #expect(try await eventually { running.sink.bodies.count == 1 })
        #expect(try running.sink.events().map(\.auditID) == ["a", "b"])
        await running.stop()
    }

    @Test func aFailedBatchStaysSpooledAndIsResentAfterTheBackOff() async throws {
        let sink = FakeSink(answers: [.failed(.retryable(retryAfter: nil), detail: "HTTP 500: boom")])
        let running = try start(Fixtures.batching(maxBatchSize: 2, initialBackoff: .seconds(10)), sink: sink)
        try running.shipper.accept([Fixtures.event("a"), Fixtures.event("b")])
        #expect(try await eventually { sink.bodies.count == 1 })
        try await running.settle()
        #expect(running.shipper.unacknowledgedCount == 2)
        running.clock.advance(by: .seconds(9))
        try await Task.sleep(for: .milliseconds(20))
        #expect(sink.bodies.count == 1, "resent before the back-off ended")
        running.clock.advance(by: .seconds(1))
        #expect(try await eventually { sink.bodies.count == 2 })
        #expect(sink.bodies[0] == sink.bodies[1], "a resent batch is the same batch")
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        #expect(
            running.registry.text.contains(#"kube_oidc_proxy_audit_batches_total{result="failed",backend="fake"} 1"#))
        await running.stop()
    }

    @Test func retryAfterLongerThanTheBackOffIsHonoured() async throws {
        let sink = FakeSink(answers: [.failed(.retryable(retryAfter: .seconds(60)), detail: "HTTP 429")])
        let running = try start(Fixtures.batching(maxBatchSize: 1, initialBackoff: .seconds(1)), sink: sink)
        try running.shipper.accept([Fixtures.event("a")])
        #expect(try await eventually { sink.bodies.count == 1 })
        try await running.settle()
        running.clock.advance(by: .seconds(59))
        try await Task.sleep(for: .milliseconds(20))
        #expect(sink.bodies.count == 1)
        running.clock.advance(by: .seconds(1))
        #expect(try await eventually { sink.bodies.count == 2 })
        await running.stop()
    }

    @Test func unauthorizedRefreshesCredentialsOnceAndResendsAtOnce() async throws {
        let sink = FakeSink(answers: [.failed(.unauthorized, detail: "HTTP 401")])
        let running = try start(Fixtures.batching(maxBatchSize: 1), sink: sink)
        try running.shipper.accept([Fixtures.event("a")])
        #expect(try await eventually { sink.bodies.count == 2 })
        #expect(sink.refreshes == 1)
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        await running.stop()
    }

    @Test func aRefusedCredentialRefreshBacksOffAndKeepsTheEvents() async throws {
        let sink = FakeSink(
            answers: [.failed(.unauthorized, detail: "HTTP 401")], refreshAnswers: [.failed(retryAfter: nil)])
        let running = try start(Fixtures.batching(maxBatchSize: 1, initialBackoff: .seconds(10)), sink: sink)
        try running.shipper.accept([Fixtures.event("a")])
        #expect(try await eventually { sink.refreshes == 1 })
        try await running.settle()
        #expect(sink.bodies.count == 1, "no send without credentials")
        #expect(running.shipper.unacknowledgedCount == 1)
        running.clock.advance(by: .seconds(10))
        #expect(try await eventually { sink.bodies.count == 2 })
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        await running.stop()
    }

    @Test func aBatchRefusedFiveTimesIsDroppedCountedAndTheNextOneGoesOut() async throws {
        let refusal = SinkAnswer.failed(.rejected(statusCode: 400), detail: "HTTP 400: bad batch")
        let sink = FakeSink(answers: Array(repeating: refusal, count: 5))
        let running = try start(Fixtures.batching(maxBatchSize: 2, initialBackoff: .seconds(1)), sink: sink)
        try running.shipper.accept([Fixtures.event("a"), Fixtures.event("b")])
        for attempt in 1...5 {
            #expect(try await eventually { sink.bodies.count == attempt })
            if attempt < 5 {
                try await running.settle()
                running.clock.advance(by: .seconds(300))
            }
        }
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        let text = running.registry.text
        #expect(text.contains(#"kube_oidc_proxy_audit_events_total{result="dropped",backend="fake"} 2"#), "\(text)")
        #expect(text.contains(#"kube_oidc_proxy_audit_batches_total{result="dropped",backend="fake"} 1"#))
        try running.shipper.accept([Fixtures.event("c"), Fixtures.event("d")])
        #expect(try await eventually { sink.bodies.count == 6 })
        #expect(try sink.events().suffix(2).map(\.auditID) == ["c", "d"])
        await running.stop()
    }

    /// The full spool's notice names `--audit-spool-max-bytes`: only for events it dropped to
    /// make room. An event it could not take (larger than the whole spool here; a full disk
    /// the same way) is counted, and left to the audit step to log with its error: blamed on
    /// the spool's size, a full disk would have an operator raise it.
    @Test func onlyEventsDroppedForRoomAreLoggedAsTheFullSpools() async throws {
        let log = CapturedLog()
        let down = FakeSink(answers: Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 10))
        let running = try start(
            Fixtures.batching(maxBatchSize: 2_000, maxBatchWait: .seconds(3600)), sink: down, maxBytes: 64 << 10,
            logger: log.logger())
        #expect(throws: (any Error).self) {
            try running.shipper.accept([Array(Fixtures.event("huge")) + [UInt8](repeating: 0x20, count: 70 << 10)])
        }
        running.metrics.refresh()
        #expect(
            running.registry.text.contains(#"kube_oidc_proxy_audit_events_total{result="dropped",backend="fake"} 1"#))
        #expect(!log.text.contains("the spool is full"), "\(log.text)")
        for index in 0..<1_000 { try running.shipper.accept([Fixtures.event("event-\(index)")]) }
        #expect(log.text.contains("the spool is full"), "\(log.text)")
        await running.stop()
    }

    /// At least once: what a stopped shipper left in the spool goes out when the next one starts.
    @Test func eventsLeftInTheSpoolAreSentByTheNextShipper() async throws {
        let directory = spoolDirectory()
        let down = FakeSink(answers: Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 100))
        let first = try start(Fixtures.batching(maxBatchSize: 2), sink: down, directory: directory)
        try first.shipper.accept([Fixtures.event("a"), Fixtures.event("b")])
        try first.shipper.accept([Fixtures.event("c")])
        #expect(try await eventually { down.bodies.count == 1 })
        await first.stop()

        let second = try start(Fixtures.batching(maxBatchSize: 2), directory: directory)
        // Resent at once, in batches as the machine cuts them: c too, without waiting for
        // max-wait (five minutes with Banyan), which a proxy restarting sooner would never reach.
        #expect(try await eventually { second.sink.bodies.count == 2 })
        #expect(try second.sink.events().map(\.auditID) == ["a", "b", "c"])
        #expect(try await eventually { second.shipper.unacknowledgedCount == 0 })
        // A new event waits for its batch as usual.
        try second.shipper.accept([Fixtures.event("d")])
        try await second.settle()
        #expect(second.sink.bodies.count == 2)
        second.clock.advance(by: .seconds(30))
        #expect(try await eventually { second.sink.bodies.count == 3 })
        await second.stop()
    }

    /// As arrays, and lent from the audit step's buffer (`accept(json:)`), as the proxy hands them.
    @Test(arguments: [false, true])
    func aFullSpoolDropsTheOldestEventsAndCountsThem(lent: Bool) async throws {
        let down = FakeSink(answers: Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 10))
        // 64 KiB of spool in 4 KiB segments; each event is a few hundred bytes.
        let running = try start(
            Fixtures.batching(maxBatchSize: 2_000, maxBatchWait: .seconds(3600)), sink: down, maxBytes: 64 << 10)
        let total = 1_000
        for index in 0..<total {
            if lent {
                var json = ExchangeEventsJSON()
                json.append(Fixtures.structured("event-\(index)"))
                try json.withEvents { try running.shipper.accept(json: $0) }
            } else {
                try running.shipper.accept([Fixtures.event("event-\(index)")])
            }
        }
        let kept = running.shipper.unacknowledgedCount
        #expect(kept > 0 && kept < UInt64(total))
        let dropped = total - Int(kept)
        running.metrics.refresh()
        let text = running.registry.text
        #expect(
            text.contains(#"kube_oidc_proxy_audit_events_total{result="dropped",backend="fake"} \#(dropped)"#),
            "\(text)")
        #expect(text.contains(#"kube_oidc_proxy_audit_events_total{result="accepted",backend="fake"} 1000"#))
        let bytes = text.split(separator: "\n").first { $0.hasPrefix("kube_oidc_proxy_audit_spool_bytes{") }
        #expect(bytes.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 > 0 && $0 <= 65536 } == true)
        await running.stop()
        // What survived is the newest events, and they are what goes out next.
        let next = try start(
            Fixtures.batching(maxBatchSize: 2_000, maxBatchWait: .seconds(3600)),
            directory: running.shipper.configuration.spoolDirectory)
        // At once, without waiting the hour: what a restart finds is overdue.
        #expect(try await eventually { !next.sink.bodies.isEmpty })
        let ids = try next.sink.events().map(\.auditID)
        #expect(ids.count == Int(kept))
        #expect(ids.last == "event-\(total - 1)")
        #expect(ids == (dropped..<total).map { "event-\($0)" })
        await next.stop()
    }

    /// A batch whose events the full spool dropped while it backed off is not posted, and does
    /// not count as sent: every batch counted as sent is one the sink took.
    @Test func aBatchWhoseEventsWereDroppedIsNeitherPostedNorCountedAsSent() async throws {
        let sink = FakeSink(answers: [.failed(.retryable(retryAfter: nil), detail: "down")])
        let running = try start(
            Fixtures.batching(maxBatchSize: 2, maxBatchWait: .seconds(3600), initialBackoff: .seconds(10)),
            sink: sink, maxBytes: 64 << 10)
        try running.shipper.accept([Fixtures.event("first-0"), Fixtures.event("first-1")])
        #expect(try await eventually { sink.bodies.count == 1 })
        try await running.settle()
        // While the first batch backs off, the spool overflows and drops its events.
        for index in 0..<1_000 { try running.shipper.accept([Fixtures.event("later-\(index)")]) }
        running.clock.advance(by: .seconds(10))
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        let lists = try sink.bodies.map { try JSONDecoder().decode(AuditEventList.self, from: Data($0)).items }
        #expect(lists.allSatisfy { !$0.isEmpty })
        #expect(!lists.dropFirst().flatMap { $0 }.contains { $0.auditID.hasPrefix("first-") })
        running.metrics.refresh()
        let sent = running.registry.text.split(separator: "\n").first {
            $0.hasPrefix(#"kube_oidc_proxy_audit_batches_total{result="sent",backend="fake"}"#)
        }
        #expect(sent.flatMap { Double($0.split(separator: " ").last ?? "") } == Double(sink.bodies.count - 1))
        await running.stop()
    }

    /// Events an earlier process left unsent are as old as they are, not as old as this start:
    /// a proxy restarting while the sink is down must still show them waiting.
    @Test func theOldestUnsentEventKeepsItsAgeAcrossARestart() async throws {
        let down = FakeSink(answers: Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 10))
        let batching = Fixtures.batching(maxBatchWait: .seconds(3600))
        let first = try start(batching, sink: down)
        var old = Fixtures.structured("an-hour-old")
        old.requestReceivedTimestamp = AuditTimestamp(Date().addingTimeInterval(-3600))
        old.stageTimestamp = old.requestReceivedTimestamp
        try first.shipper.accept([old.jsonBytes()])
        await first.stop()

        let second = try start(batching, sink: down, directory: first.shipper.configuration.spoolDirectory)
        func age() -> Double? {
            second.metrics.refresh(now: second.clock.now)
            return second.registry.text.split(separator: "\n")
                .first { $0.hasPrefix("kube_oidc_proxy_audit_oldest_unsent_event_age_seconds{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect((age() ?? 0) >= 3600)
        try await second.settle()
        second.clock.advance(by: .seconds(60))
        #expect((age() ?? 0) >= 3660)
        await second.stop()
    }

    /// Events the full spool dropped while their batch was in flight are counted as dropped
    /// then, and not again as sent when the batch arrives: sent and dropped add up to accepted.
    @Test func eventsDroppedWhileTheirBatchWasInFlightAreNotAlsoCountedAsSent() async throws {
        let released = Mutex(false)
        let sink = FakeSink(pause: {
            while !released.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
        })
        let running = try start(
            Fixtures.batching(maxBatchSize: 5, maxBatchWait: .seconds(3600), bufferSize: 5), sink: sink,
            maxBytes: 64 << 10)
        for index in 0..<5 { try running.shipper.accept([Fixtures.event("first-\(index)")]) }
        #expect(try await eventually { sink.bodies.count == 1 })
        // The batch is in flight; enough newer events that its segment is dropped for room.
        let total = 1_000
        for index in 0..<total { try running.shipper.accept([Fixtures.event("new-\(index)")]) }
        released.withLock { $0 = true }
        func value(_ result: String) -> Int? {
            running.metrics.refresh()
            let prefix = #"kube_oidc_proxy_audit_events_total{result=""# + result + #"",backend="fake"} "#
            return running.registry.text.split(separator: "\n").first { $0.hasPrefix(prefix) }
                .flatMap { Int($0.dropFirst(prefix.count)) }
        }
        #expect(try await eventually { running.shipper.counters.batchesSent >= 1 })
        #expect((value("dropped") ?? 0) >= 5, "the in-flight batch's segment went")
        // Once the batches settle, every event is sent, dropped, or still spooled: once.
        var sum = 0
        let settled = try await eventually {
            sum = (value("sent") ?? 0) + (value("dropped") ?? 0) + Int(running.shipper.unacknowledgedCount)
            return sum == total + 5
        }
        #expect(settled, "sent + dropped + spooled = \(sum), accepted \(total + 5)")
        await running.stop()
    }

    /// When the full spool drops the oldest events to make room, the gauge follows at once to
    /// the oldest left, even while a batch backs off (the driver asleep for minutes).
    @Test func theOldestUnsentAgeFollowsDropsMadeByAnAppend() async throws {
        let down = FakeSink(answers: Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 10))
        let running = try start(
            Fixtures.batching(maxBatchSize: 2, maxBatchWait: .seconds(3600), initialBackoff: .seconds(600)),
            sink: down, maxBytes: 64 << 10)
        func age() -> Double? {
            running.metrics.refresh(now: running.clock.now)
            return running.registry.text.split(separator: "\n")
                .first { $0.hasPrefix("kube_oidc_proxy_audit_oldest_unsent_event_age_seconds{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        try running.shipper.accept([Fixtures.event("old-0"), Fixtures.event("old-1")])
        #expect(try await eventually { down.bodies.count == 1 })
        try await running.settle()
        running.clock.advance(by: .seconds(100))
        #expect((age() ?? 0) >= 100)
        // Enough newer events that the two old ones are dropped for room.
        for index in 0..<1_000 { try running.shipper.accept([Fixtures.event("new-\(index)")]) }
        running.metrics.refresh(now: running.clock.now)
        #expect(running.registry.text.contains(#"kube_oidc_proxy_audit_events_total{result="dropped",backend="fake"}"#))
        #expect((age() ?? .infinity) < 1, "\(String(describing: age()))")
        await running.stop()
    }

    /// Events that waited in the spool for room in the machine's buffer were stamped when the
    /// machine took them: with the sink behind, the gauge showed the last admission, not the
    /// oldest event's real wait, and an alert on it never fired.
    @Test func theOldestUnsentEventKeepsItsAgeWhileItWaitsForRoomInTheBuffer() async throws {
        // Each send is held until the test lets it go; two are delivered, the later ones fail.
        let started = Mutex(0)
        let released = Mutex(0)
        let sink = FakeSink(
            answers: [.delivered, .delivered]
                + Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 10),
            pause: {
                let mine = started.withLock {
                    $0 += 1
                    return $0
                }
                while released.withLock({ $0 }) < mine { try? await Task.sleep(for: .milliseconds(5)) }
            })
        let running = try start(
            Fixtures.batching(
                maxBatchSize: 10, maxBatchWait: .seconds(3600), bufferSize: 10, initialBackoff: .seconds(600)),
            sink: sink)
        func age() -> Double? {
            running.metrics.refresh(now: running.clock.now)
            return running.registry.text.split(separator: "\n")
                .first { $0.hasPrefix("kube_oidc_proxy_audit_oldest_unsent_event_age_seconds{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        // All fifty arrive now: ten fill the buffer and go out, the rest wait in the spool and are
        // admitted ten at a time as the sink takes batches, two minutes apart.
        for index in 0..<50 { try running.shipper.accept([Fixtures.event("event-\(index)")]) }
        for batch in 1...2 {
            #expect(try await eventually { sink.bodies.count == batch })
            running.clock.advance(by: .seconds(120))
            released.withLock { $0 = batch }
        }
        // The third batch fails: its events, and those behind it, have waited four minutes.
        #expect(try await eventually { sink.bodies.count == 3 })
        released.withLock { $0 = 100 }
        #expect(
            try await eventually {
                running.registry.text.contains(
                    #"kube_oidc_proxy_audit_batches_total{result="failed",backend="fake"} 1"#)
            })
        try await Task.sleep(for: .milliseconds(100))
        #expect(running.shipper.unacknowledgedCount == 30)
        #expect((age() ?? 0) >= 240, "\(String(describing: age()))")
        await running.stop()
    }

    @Test func gracefulShutdownFlushesPendingEventsWithoutWaitingForTheBatch() async throws {
        let sink = FakeSink()
        let clock = ManualClock()
        let registry = PrometheusCollectorRegistry()
        let shipper = try AuditShipper(
            sink: sink,
            configuration: .init(
                batching: Fixtures.batching(maxBatchWait: .seconds(300)), spoolDirectory: spoolDirectory()),
            metrics: AuditMetrics(registry: registry).backend("fake"), clock: clock, logger: Fixtures.logger)
        let group = ServiceGroup(services: [shipper], logger: Fixtures.logger)
        let run = Task { try await group.run() }
        try shipper.accept([Fixtures.event("a"), Fixtures.event("b")])
        _ = try await eventually { clock.sleeperCount > 0 }
        await group.triggerGracefulShutdown()
        try await run.value
        #expect(try sink.events().map(\.auditID) == ["a", "b"])
        #expect(shipper.unacknowledgedCount == 0)
        #expect(sink.isShutDown)
    }

    /// A shipper in a service group, with a 10 s shutdown flush on a manual clock, running.
    struct ShuttingDown {
        let shipper: AuditShipper
        let clock: ManualClock
        let group: ServiceGroup
        let run: Task<Void, any Error>

        /// Asks for a graceful shutdown once the driver sleeps, then moves the clock a second at
        /// a time until the sink is shut down; `sent` is awaited first.
        func shutDown(_ sink: FakeSink, once sent: @escaping @Sendable () -> Bool) async throws {
            _ = try await eventually { clock.sleeperCount > 0 }
            await group.triggerGracefulShutdown()
            #expect(try await eventually(sent))
            for _ in 0..<20 where !(try await eventually(timeout: .milliseconds(50)) { sink.isShutDown }) {
                clock.advance(by: .seconds(1))
            }
            try await run.value
        }
    }

    func shuttingDown(_ sink: FakeSink, initialBackoff: Duration) throws -> ShuttingDown {
        let clock = ManualClock()
        let shipper = try AuditShipper(
            sink: sink,
            configuration: .init(
                batching: Fixtures.batching(maxBatchWait: .seconds(300), initialBackoff: initialBackoff),
                spoolDirectory: spoolDirectory(), shutdownFlushTimeout: .seconds(10)),
            metrics: AuditMetrics(registry: PrometheusCollectorRegistry()).backend("fake"), clock: clock,
            logger: Fixtures.logger)
        let group = ServiceGroup(services: [shipper], logger: Fixtures.logger)
        return ShuttingDown(shipper: shipper, clock: clock, group: group, run: Task { try await group.run() })
    }

    /// One failure at shutdown does not leave the events behind: the flush tries again a
    /// second later, within its deadline.
    @Test func gracefulShutdownTriesAFailedSendAgain() async throws {
        let sink = FakeSink(answers: [.failed(.retryable(retryAfter: nil), detail: "HTTP 503")])
        let running = try shuttingDown(sink, initialBackoff: .seconds(60))
        try running.shipper.accept([Fixtures.event("a"), Fixtures.event("b")])
        try await running.shutDown(sink, once: { sink.bodies.count == 1 })
        #expect(sink.bodies.count == 2)
        #expect(try sink.events().map(\.auditID) == ["a", "b", "a", "b"])
        #expect(running.shipper.unacknowledgedCount == 0, "delivered on the second try, well before the 60 s back-off")
    }

    @Test func gracefulShutdownWithTheSinkDownIsBoundedAndKeepsTheEvents() async throws {
        let sink = FakeSink(answers: Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 10))
        let running = try shuttingDown(sink, initialBackoff: .seconds(1))
        try running.shipper.accept([Fixtures.event("a")])
        // The flush tries again each second until its deadline, then leaves the event spooled.
        try await running.shutDown(sink, once: { sink.bodies.count >= 1 })
        #expect(sink.isShutDown)
        #expect(running.shipper.unacknowledgedCount == 1, "an unsent event stays spooled for the next start")
    }

    /// A shipper sending one event per batch to a sink whose every send takes a minute of
    /// `clock`, with a 10 s shutdown flush.
    func slowShipper(_ clock: ManualClock) throws -> (FakeSink, AuditShipper) {
        let sink = FakeSink(pause: { try? await clock.sleep(until: clock.now + .seconds(60)) })
        let shipper = try AuditShipper(
            sink: sink,
            configuration: .init(
                batching: Fixtures.batching(maxBatchSize: 1), spoolDirectory: spoolDirectory(),
                shutdownFlushTimeout: .seconds(10)),
            metrics: AuditMetrics(registry: PrometheusCollectorRegistry()).backend("fake"), clock: clock,
            logger: Fixtures.logger)
        return (sink, shipper)
    }

    /// A backlog must not hold a shutdown: sends chain while batches are full, but none starts
    /// past `shutdownFlushTimeout` after the shutdown was asked for.
    @Test func aBacklogDoesNotHoldTheShutdownPastItsDeadline() async throws {
        let clock = ManualClock()
        let (sink, shipper) = try slowShipper(clock)
        let group = ServiceGroup(services: [shipper], logger: Fixtures.logger)
        let run = Task { try await group.run() }
        try shipper.accept((0..<5).map { Fixtures.event("e\($0)") })
        #expect(try await eventually { sink.bodies.count == 1 })
        await group.triggerGracefulShutdown()
        #expect(try await eventually { shipper.isStopping })
        // The send in flight finishes; then the deadline (10 s after the request) has passed.
        clock.advance(by: .seconds(60))
        let shutDown = try await eventually { sink.isShutDown }
        #expect(shutDown, "the shutdown waited for the backlog")
        // Without the deadline the driver would go on sending: end it rather than hang.
        if !shutDown { run.cancel() }
        _ = await run.result
        #expect(sink.bodies.count == 1)
        #expect(shipper.unacknowledgedCount == 4, "the rest stays spooled for the next start")
    }
}

extension AuditShipperTests {
    /// Shippers run as one ``ShipperGroup`` are all asked to stop at once and flush side by side:
    /// run as services of their own, the group stopped them in turn, each with its own flush
    /// deadline, and two sinks took twice the shutdown budget.
    @Test func shippersInAGroupAreAllAskedToStopAtOnce() async throws {
        let clock = ManualClock()
        let pairs = try (0..<2).map { _ in try slowShipper(clock) }
        let (sinks, shippers) = (pairs.map(\.0), pairs.map(\.1))
        let group = ServiceGroup(services: [ShipperGroup(shippers)], logger: Fixtures.logger)
        let run = Task { try await group.run() }
        for shipper in shippers { try shipper.accept((0..<3).map { Fixtures.event("e\($0)") }) }
        #expect(try await eventually { sinks.allSatisfy { $0.bodies.count == 1 } })
        await group.triggerGracefulShutdown()
        #expect(try await eventually { shippers.allSatisfy(\.isStopping) }, "each shipper was asked at once")
        // The sends in flight finish, both deadlines have passed: both are done.
        clock.advance(by: .seconds(60))
        let shutDown = try await eventually { sinks.allSatisfy(\.isShutDown) }
        #expect(shutDown)
        if !shutDown { run.cancel() }
        _ = await run.result
        #expect(shippers.map(\.unacknowledgedCount) == [2, 2])
    }

    /// A record torn by a crash mid-append is cut off; every event before it still goes out.
    @Test func aTornLastRecordIsSkippedAndTheRestIsResent() async throws {
        let directory = spoolDirectory()
        let down = FakeSink(answers: Array(repeating: .failed(.retryable(retryAfter: nil), detail: "down"), count: 9))
        let first = try start(Fixtures.batching(maxBatchWait: .seconds(3600)), sink: down, directory: directory)
        try first.shipper.accept([Fixtures.event("a"), Fixtures.event("b"), Fixtures.event("c")])
        await first.stop()
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory).first { $0.hasPrefix("segment-") })
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/" + segment))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0xA5, 0x40, 0x00, 0x00, 0x00, 0x01, 0x02]))
        try handle.close()

        let second = try start(Fixtures.batching(maxBatchWait: .seconds(1)), directory: directory)
        #expect(try await eventually { second.sink.bodies.count == 1 })
        #expect(try second.sink.events().map(\.auditID) == ["a", "b", "c"])
        // New events after recovery are appended and shipped as usual.
        try second.shipper.accept([Fixtures.event("d")])
        try await second.settle()
        second.clock.advance(by: .seconds(1))
        #expect(try await eventually { second.sink.bodies.count == 2 })
        #expect(try second.sink.events().map(\.auditID) == ["a", "b", "c", "d"])
        await second.stop()
    }

    /// Under load, with a batch backing off, appends must not wake the driver one by one.
    @Test func appendsDuringABackOffDoNotWakeTheDriver() async throws {
        let sink = FakeSink(answers: [.failed(.retryable(retryAfter: nil), detail: "HTTP 503")])
        let running = try start(Fixtures.batching(maxBatchSize: 10, initialBackoff: .seconds(10)), sink: sink)
        for index in 0..<10 { try running.shipper.accept([Fixtures.event("first-\(index)")]) }
        #expect(try await eventually { sink.bodies.count == 1 })
        try await running.settle()
        let before = running.shipper.driverWakeups
        for index in 0..<100 { try running.shipper.accept([Fixtures.event("more-\(index)")]) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(running.shipper.driverWakeups - before <= 1)
        running.clock.advance(by: .seconds(10))
        #expect(try await eventually { sink.bodies.count >= 2 })
        // The backlog drains batch after batch without further appends.
        #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
        #expect(try sink.events().suffix(100).map(\.auditID) == (0..<100).map { "more-\($0)" })
        await running.stop()
    }

    /// Events beyond the batcher's buffer wait in the spool alone; once the sink has taken what
    /// the batcher held, they are owed a sync like any waiting event, not only at the next append.
    @Test func eventsWaitingBeyondTheBufferAreOwedASyncAfterAnAcknowledgement() async throws {
        let sink = FakeSink(answers: [.delivered, .delivered, .failed(.retryable(retryAfter: nil), detail: "down")])
        let running = try start(
            Fixtures.batching(
                maxBatchSize: 2, maxBatchWait: .seconds(3600), bufferSize: 2, initialBackoff: .seconds(10)),
            sink: sink)
        try running.shipper.accept((0..<6).map { Fixtures.event("e\($0)") })
        #expect(try await eventually { sink.bodies.count == 3 })
        try await running.settle()
        running.clock.advance(by: .seconds(2))
        #expect(try await eventually { running.shipper.spoolSyncs >= 1 }, "the last two events were never synced")
        #expect(running.shipper.unacknowledgedCount == 2)
        await running.stop()
    }

    /// A sink that keeps up: the events leave the spool before they are owed a sync, so the disk
    /// never has to see them.
    @Test func eventsTheSinkTakesWithinASecondAreNeverSynced() async throws {
        let running = try start(Fixtures.batching(maxBatchSize: 2))
        // The driver sleeps with no deadline once the spool is empty (no timer to settle on).
        for round in 0..<5 {
            try running.shipper.accept([Fixtures.event("a-\(round)"), Fixtures.event("b-\(round)")])
            #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
            try await Task.sleep(for: .milliseconds(10))
            running.clock.advance(by: .milliseconds(600))
        }
        running.clock.advance(by: .seconds(5))
        try await Task.sleep(for: .milliseconds(20))
        #expect(running.sink.bodies.count == 5)
        #expect(running.shipper.spoolSyncs == 0)
        await running.stop()
    }

    /// An event waiting for its batch is synced a second after it arrived, by the driver's own
    /// timer (no further append needed), and again at most once a second while more arrive.
    @Test func anEventWaitingForTheSinkIsSyncedAfterASecondWithoutFurtherAppends() async throws {
        let running = try start(Fixtures.batching(maxBatchWait: .seconds(30)))
        try running.shipper.accept([Fixtures.event("a")])
        try await running.settle()
        running.clock.advance(by: .milliseconds(999))
        try await running.settle()
        #expect(running.shipper.spoolSyncs == 0)
        running.clock.advance(by: .milliseconds(1))
        #expect(try await eventually { running.shipper.spoolSyncs == 1 })
        try await running.settle()
        // Nothing new: no further sync, however long the event waits.
        running.clock.advance(by: .seconds(5))
        try await running.settle()
        #expect(running.shipper.spoolSyncs == 1)
        // A new event is owed one at once (the oldest waiting arrived long ago), and only one.
        try running.shipper.accept([Fixtures.event("b")])
        #expect(running.shipper.spoolSyncs == 2)
        try running.shipper.accept([Fixtures.event("c")])
        #expect(running.shipper.spoolSyncs == 2)
        try await running.settle()
        running.clock.advance(by: .seconds(1))
        #expect(try await eventually { running.shipper.spoolSyncs == 3 })
        #expect(running.sink.bodies.isEmpty)
        await running.stop()
    }

    /// Events a killed process left are synced a second after the next start if the sink has not
    /// taken them by then (they may be in the page cache alone), and not at all if it has.
    @Test(arguments: [false, true])
    func eventsRecoveredFromAnEarlierProcessAreSyncedUnlessTheSinkTakesThem(sinkUp: Bool) async throws {
        let directory = spoolDirectory()
        do {
            let spool = try BatchSpool(.init(directory: directory))
            for id in ["a", "b"] { try spool.append(Fixtures.event(id)) }
        }
        let sink = FakeSink(answers: sinkUp ? [] : [.failed(.retryable(retryAfter: nil), detail: "HTTP 503")])
        let running = try start(Fixtures.batching(maxBatchSize: 2), sink: sink, directory: directory)
        #expect(try await eventually { sink.bodies.count == 1 })
        if sinkUp {
            // Delivered: the driver sleeps with no deadline (no timer to settle on).
            #expect(try await eventually { running.shipper.unacknowledgedCount == 0 })
            try await Task.sleep(for: .milliseconds(10))
            running.clock.advance(by: .seconds(1))
            try await Task.sleep(for: .milliseconds(20))
            #expect(running.shipper.spoolSyncs == 0)
        } else {
            try await running.settle()
            #expect(running.shipper.spoolSyncs == 0)
            running.clock.advance(by: .seconds(1))
            #expect(try await eventually { running.shipper.spoolSyncs == 1 })
        }
        await running.stop()
    }
}
