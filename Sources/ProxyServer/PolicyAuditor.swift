import AuditBatcher
import Foundation
import Logging

/// The audit step for real: evaluates the policy once per exchange and hands the API server's
/// events (`RequestReceived`, then `ResponseComplete` or `Panic`, less the omitted stages) to
/// every backend: the audit log, and the shipper of each batching sink (webhook, Banyan).
public final class PolicyAuditor: ExchangeAuditor {
    let policy: AuditPolicy
    let backends: [any AuditBackend]
    let logger: Logger
    /// Whether some backend reads the events' structure; else only their bytes are kept.
    let keepsEvents: Bool

    public init(policy: AuditPolicy, backends: [any AuditBackend], logger: Logger) {
        self.policy = policy
        self.backends = backends
        self.logger = logger
        keepsEvents = backends.contains { $0.reshapesEvents }
    }

    public var isEnabled: Bool { true }

    public func decide(method: String, uri: String, username: String?, groups: [String]) -> AuditDecision {
        let info = RequestInfo(method: method, requestTarget: uri)
        return AuditDecision(config: policy.evaluate(info, username: username, groups: groups), requestInfo: info)
    }

    public func record(_ exchange: ExchangeRecord, as decision: AuditDecision) {
        let last: AuditStage = exchange.cutShort == nil ? .responseComplete : .panic
        // A long-running exchange recorded its first stages when its response started.
        let stages: [AuditStage] = exchange.responseStarted == nil ? [.requestReceived, last] : [last]
        write(events(exchange, decision, stages: stages, keepingEvents: keepsEvents), auditID: exchange.auditID)
    }

    public func recordStart(_ exchange: ExchangeRecord, as decision: AuditDecision) {
        write(
            events(exchange, decision, stages: [.requestReceived, .responseStarted], keepingEvents: keepsEvents),
            auditID: exchange.auditID)
    }

    private func write(_ events: [EncodedAuditEvent], auditID: String) {
        guard !events.isEmpty else { return }
        for backend in backends {
            do {
                try backend.accept(encoded: events)
            } catch {
                logger.error(
                    "audit event not written",
                    metadata: ["backend": "\(backend.name)", "error": "\(error)", "auditID": "\(auditID)"])
            }
        }
    }

    /// The exchange's events for `stages`, in stage order, less the stages the policy omits;
    /// none at level `None`. The bodies go into the last event only, as the API server's
    /// `RequestReceived` precedes reading them and `ResponseStarted` precedes the response's.
    func events(
        _ exchange: ExchangeRecord, _ decision: AuditDecision, stages: [AuditStage], keepingEvents: Bool = true
    ) -> [EncodedAuditEvent] {
        let config = decision.config
        guard config.level != .none, let info = decision.requestInfo else { return [] }
        let received = AuditTimestamp(exchange.received)
        var event = AuditEvent(
            level: config.level, auditID: exchange.auditID, stage: .requestReceived, requestURI: exchange.uri,
            verb: info.verb,
            user: AuditUserInfo(username: exchange.username ?? "", groups: exchange.groups),
            sourceIPs: exchange.sourceIP.map { [$0] } ?? [], userAgent: exchange.userAgent ?? "",
            objectRef: info.objectReference, requestReceivedTimestamp: received, stageTimestamp: received)
        let recorded = stages.filter { config.records($0) }
        var events: [EncodedAuditEvent] = []
        events.reserveCapacity(recorded.count)
        // Written once when there are several: the URI, user, source and object reference are
        // the same at every stage.
        let shared = recorded.count > 1 ? event.stageIndependentJSON() : nil
        for stage in recorded {
            event.stage = stage
            switch stage {
            case .requestReceived:
                event.stageTimestamp = received
                event.responseStatus = nil
            case .responseStarted:
                event.stageTimestamp = AuditTimestamp(exchange.responseStarted ?? exchange.completed)
                event.responseStatus = AuditResponseStatus(code: exchange.code)
            case .responseComplete, .panic:
                event.stageTimestamp = AuditTimestamp(exchange.completed)
                event.responseStatus =
                    stage == .panic
                    ? Self.panicStatus(exchange.cutShort ?? "")
                    : exchange.refusal ?? AuditResponseStatus(code: exchange.code)
                addObjects(of: exchange, to: &event, stage: stage, config: config)
            }
            events.append(
                shared.map { EncodedAuditEvent(event, sharing: $0, keepingEvent: keepingEvents) }
                    ?? EncodedAuditEvent(event, keepingEvent: keepingEvents))
        }
        return events
    }

    /// What the API server records for a handler that panicked; here, a response cut short.
    static func panicStatus(_ message: String) -> AuditResponseStatus {
        AuditResponseStatus(code: 500, status: "Failure", reason: "InternalError", message: message)
    }

    private func addObjects(
        of exchange: ExchangeRecord, to event: inout AuditEvent, stage: AuditStage, config: RequestAuditConfig
    ) {
        if config.level >= .request { event.requestObject = exchange.requestObject }
        // A response cut short is no object.
        if config.level >= .requestResponse, stage != .panic { event.responseObject = exchange.responseObject }
        if config.omitManagedFields {
            event.requestObject = event.requestObject?.withoutManagedFields()
            event.responseObject = event.responseObject?.withoutManagedFields()
        }
        if exchange.objectsTruncated, config.level >= .request {
            event.annotations[AuditTruncation.annotationKey] = AuditTruncation.annotationValue
        }
    }
}
