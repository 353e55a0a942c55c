import AuditBatcher
import AuditShipping
import Foundation
import Logging
import Prometheus
import Synchronization

/// A clock that moves only when the test says so.
final class ManualClock: ShipperClock {
    private struct Sleeper {
        var id: Int
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = ContinuousClock.now
        var sleepers: [Sleeper] = []
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    var now: ContinuousClock.Instant { state.withLock { $0.now } }

    /// Sleepers waiting now (the shipper's timers).
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now += duration
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

/// A sink that answers from a script (then `.delivered`) and records every body it was sent.
final class FakeSink: AuditSink {
    private struct State {
        var answers: [SinkAnswer] = []
        var bodies: [[UInt8]] = []
        var refreshes = 0
        var refreshAnswers: [CredentialRefresh] = []
        var shutDown = false
    }

    /// Awaited in every send after its body is recorded, before it answers: a sink that is slow.
    private let pause: (@Sendable () async -> Void)?

    let backend: String
    private let state = Mutex(State())

    init(
        backend: String = "fake", answers: [SinkAnswer] = [], refreshAnswers: [CredentialRefresh] = [],
        pause: (@Sendable () async -> Void)? = nil
    ) {
        self.backend = backend
        self.pause = pause
        state.withLock {
            $0.answers = answers
            $0.refreshAnswers = refreshAnswers
        }
    }

    func script(_ answers: [SinkAnswer]) { state.withLock { $0.answers += answers } }

    var bodies: [[UInt8]] { state.withLock { $0.bodies } }
    var refreshes: Int { state.withLock { $0.refreshes } }
    var isShutDown: Bool { state.withLock { $0.shutDown } }

    /// Every event received, in order, as the `EventList` items decoded.
    func events() throws -> [AuditEvent] {
        try bodies.flatMap { try JSONDecoder().decode(AuditEventList.self, from: Data($0)).items }
    }

    func send(_ body: [UInt8]) async -> SinkAnswer {
        state.withLock { $0.bodies.append(body) }
        await pause?()
        return state.withLock { $0.answers.isEmpty ? .delivered : $0.answers.removeFirst() }
    }

    func refreshCredentials() async -> CredentialRefresh {
        state.withLock { state in
            state.refreshes += 1
            return state.refreshAnswers.isEmpty ? .refreshed : state.refreshAnswers.removeFirst()
        }
    }

    func shutdown() async { state.withLock { $0.shutDown = true } }
}

enum Fixtures {
    /// A Metadata-level `ResponseComplete` event with this audit ID, as JSON.
    static func event(_ auditID: String = UUID().uuidString.lowercased(), uri: String = "/api/v1/pods") -> [UInt8] {
        structured(auditID, uri: uri).jsonBytes()
    }

    /// The same event, before it is serialized.
    static func structured(_ auditID: String, uri: String = "/api/v1/pods") -> AuditEvent {
        let now = AuditTimestamp(Date())
        return AuditEvent(
            level: .metadata, auditID: auditID, stage: .responseComplete, requestURI: uri, verb: "list",
            user: AuditUserInfo(username: "banyan:alice@example.com", groups: ["banyan:admin"]),
            sourceIPs: ["127.0.0.1"], userAgent: "kubectl", objectRef: nil,
            responseStatus: AuditResponseStatus(code: 200), requestReceivedTimestamp: now, stageTimestamp: now)
    }

    static let logger: Logger = {
        var logger = Logger(label: "audit-shipping-tests")
        logger.logLevel = .critical
        return logger
    }()

    static func batching(
        maxBatchSize: Int = 400, maxBatchWait: Duration = .seconds(30), bufferSize: Int = 10_000,
        initialBackoff: Duration = .seconds(10)
    ) -> BatchingConfiguration {
        BatchingConfiguration(
            maxBatchSize: maxBatchSize, maxBatchWait: maxBatchWait, bufferSize: bufferSize, throttle: nil,
            initialBackoff: initialBackoff, jitter: 0)
    }
}

/// Polls `condition` until it holds or `timeout` passes (real time: the shipper runs on tasks).
/// The default is generous on purpose: in the full suite, end-to-end tests that wait on curl can
/// hold both of the cooperative pool's threads for seconds on a 2-core machine (a CI run failed
/// at 5 s); a condition that holds returns at once either way.
func eventually(
    timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(2))
    }
    return try await condition()
}

extension PrometheusCollectorRegistry {
    var text: String {
        var buffer: [UInt8] = []
        emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
