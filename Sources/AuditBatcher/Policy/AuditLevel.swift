/// How much of a request an audit event records, as in `audit.k8s.io/v1`.
///
/// Levels are ordered: each one records everything the previous one does, so `level >= .request`
/// reads as "the request body is kept".
public enum AuditLevel: String, Codable, CaseIterable, Comparable, Hashable, Sendable {
    /// No event at all.
    case none = "None"
    /// User, verb, resource, timestamps and response status, no bodies.
    case metadata = "Metadata"
    /// Metadata plus the request body.
    case request = "Request"
    /// Metadata plus the request and response bodies.
    case requestResponse = "RequestResponse"

    // Raw-valued enums get no synthesized `Comparable`; the declaration order is the ranking.
    private var rank: Int {
        switch self {
        case .none: 0
        case .metadata: 1
        case .request: 2
        case .requestResponse: 3
        }
    }

    public static func < (lhs: AuditLevel, rhs: AuditLevel) -> Bool {
        lhs.rank < rhs.rank
    }
}
