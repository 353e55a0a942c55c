import AuditBatcher

/// Jitter from a fixed list of raw values, so back-off delays are known in advance:
/// `low` gives −20 %, `middle` none, `high` just under +20 %.
struct ScriptedJitter: RandomNumberGenerator, Sendable {
    static let low: UInt64 = 0
    static let middle: UInt64 = 1 << 63
    static let high: UInt64 = .max

    var values: [UInt64]
    private var index = 0

    init(_ values: [UInt64]) {
        self.values = values
    }

    mutating func next() -> UInt64 {
        defer { index += 1 }
        return values[index % values.count]
    }
}

/// A fake clock: instants are offsets in seconds from one fixed origin, and nothing sleeps.
struct FakeTime {
    let origin = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant {
        origin + .seconds(seconds)
    }

    func seconds(_ instant: ContinuousClock.Instant) -> Double {
        let (whole, attoseconds) = origin.duration(to: instant).components
        return Double(whole) + Double(attoseconds) * 1e-18
    }

    /// The offset of the `.wait` among `actions`, if there is one.
    func waitOffset(_ actions: [BatchingAction<Int>]) -> Double? {
        for case .wait(let until) in actions {
            return seconds(until)
        }
        return nil
    }
}

extension Array where Element == BatchingAction<Int> {
    /// The batch of the `.send` among these actions, if there is one.
    var sentBatch: AuditBatch<Int>? {
        for case .send(let batch) in self {
            return batch
        }
        return nil
    }
}

func makeMachine(
    maxBatchSize: Int = 400,
    maxBatchWait: Duration = .seconds(30),
    bufferSize: Int = 10_000,
    throttle: BatchingConfiguration.Throttle? = nil,
    initialBackoff: Duration = .seconds(10),
    jitter: [UInt64] = [ScriptedJitter.middle]
) -> BatchingStateMachine<Int> {
    BatchingStateMachine(
        configuration: BatchingConfiguration(
            maxBatchSize: maxBatchSize, maxBatchWait: maxBatchWait, bufferSize: bufferSize, throttle: throttle,
            initialBackoff: initialBackoff),
        jitterSource: ScriptedJitter(jitter))
}
