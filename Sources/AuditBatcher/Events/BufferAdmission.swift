/// The answer to `BatchingStateMachine.enqueue`.
public enum BufferAdmission: Sendable, Hashable {
    /// Every event offered was taken.
    case accepted(Int)
    /// The buffer filled up: the first `accepted` events were taken, the remaining `refused` were
    /// not. Nothing is lost: those stay in the spool and are offered again later.
    case bufferFull(accepted: Int, refused: Int)

    public var acceptedCount: Int {
        switch self {
        case .accepted(let count), .bufferFull(let count, _): count
        }
    }
}
