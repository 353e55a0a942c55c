/// The shipper's sense of time, injected so its tests run on a fake clock. Instants are
/// `ContinuousClock`'s, as `BatchingStateMachine` takes them.
public protocol ShipperClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Returns at `deadline`, or throws `CancellationError` when the task is cancelled first.
    func sleep(until deadline: ContinuousClock.Instant) async throws
}

/// Real time.
public struct SystemShipperClock: ShipperClock {
    public init() {}

    public var now: ContinuousClock.Instant { .now }

    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await ContinuousClock().sleep(until: deadline, tolerance: .milliseconds(10))
    }
}
