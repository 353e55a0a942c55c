/// Why `BatchingStateMachine` gave up on a batch.
public enum BatchDropReason: Sendable, Hashable {
    /// Refused with this 4xx (other than 401/429) on each of `attempts` sends.
    case rejected(statusCode: Int, attempts: Int)
}
