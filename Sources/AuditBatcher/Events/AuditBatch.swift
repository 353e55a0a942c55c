/// A batch cut by `BatchingStateMachine`: the events to send together, oldest first.
///
/// A resent batch keeps its `id` and its events, so a receiver deduplicating by `auditID` sees
/// the same set again.
public struct AuditBatch<EventID: Sendable>: Sendable {
    public let id: UInt64
    public let eventIDs: [EventID]
    /// 1 for the first send, counting every resend after it.
    public internal(set) var attempt: Int

    public init(id: UInt64, eventIDs: [EventID], attempt: Int = 1) {
        self.id = id
        self.eventIDs = eventIDs
        self.attempt = attempt
    }
}

extension AuditBatch: Equatable where EventID: Equatable {}
extension AuditBatch: Hashable where EventID: Hashable {}
