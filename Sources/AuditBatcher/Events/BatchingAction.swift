/// What the I/O layer must do next, as decided by `BatchingStateMachine`. Actions come in a list
/// and are performed in order.
public enum BatchingAction<EventID: Sendable>: Sendable {
    /// POST this batch, then report `sendSucceeded` or `sendFailed` with its id.
    case send(AuditBatch<EventID>)
    /// Exchange the refresh token for a new access token before the `send` that follows. If the
    /// exchange fails, skip that send and report `sendFailed(…, .retryable(retryAfter: nil))`.
    case refreshCredentials
    /// Nothing is due before this instant unless events arrive or a send completes; call `tick`
    /// then.
    case wait(until: ContinuousClock.Instant)
    /// Give up on this batch: delete its events from the spool, count and log them.
    case drop(AuditBatch<EventID>, BatchDropReason)
}

extension BatchingAction: Equatable where EventID: Equatable {}
