/// What the policy decided for one request: how much to record and which stages to leave out.
public struct RequestAuditConfig: Equatable, Hashable, Sendable {
    public var level: AuditLevel
    /// The policy's and the matching rule's `omitStages` together.
    public var omitStages: Set<AuditStage>
    /// Whether `managedFields` are stripped from recorded bodies.
    public var omitManagedFields: Bool

    public init(level: AuditLevel, omitStages: Set<AuditStage> = [], omitManagedFields: Bool = false) {
        self.level = level
        self.omitStages = omitStages
        self.omitManagedFields = omitManagedFields
    }

    /// Whether an event for `stage` is to be emitted at all.
    public func records(_ stage: AuditStage) -> Bool {
        level != .none && !omitStages.contains(stage)
    }
}
