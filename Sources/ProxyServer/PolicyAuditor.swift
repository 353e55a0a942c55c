import AuditBatcher
import Foundation
import Logging

/// The audit step for real: evaluates the policy for each exchange and hands the API server's
/// events (`RequestReceived` and `ResponseComplete`, less the omitted stages) to every backend:
/// the audit log, and the shipper of each batching sink (webhook, Banyan).
public final class PolicyAuditor: ExchangeAuditor {
    let policy: AuditPolicy
    let backends: [any AuditBackend]
    let logger: Logger

    public init(policy: AuditPolicy, backends: [any AuditBackend], logger: Logger) {
        self.policy = policy
        self.backends = backends
        self.logger = logger
    }

    public var isEnabled: Bool { true }

    public func record(_ exchange: ExchangeRecord) async {
        // A long-running exchange recorded its first stages when its response started.
        let stages: [AuditStage] =
            exchange.responseStarted == nil ? [.requestReceived, .responseComplete] : [.responseComplete]
        await write(encodedEvents(exchange, stages: stages), auditID: exchange.auditID)
    }

    public func recordStart(_ exchange: ExchangeRecord) async {
        await write(encodedEvents(exchange, stages: [.requestReceived, .responseStarted]), auditID: exchange.auditID)
    }

    private func write(_ events: [[UInt8]], auditID: String) async {
        guard !events.isEmpty else { return }
        for backend in backends {
            do {
                try await backend.accept(events)
            } catch {
                logger.error(
                    "audit event not written",
                    metadata: ["backend": "\(backend.name)", "error": "\(error)", "auditID": "\(auditID)"])
            }
        }
    }

    /// The exchange's events for `stages` as JSON, in stage order, less the stages the policy
    /// omits; none when the policy says `None`.
    func encodedEvents(
        _ exchange: ExchangeRecord, stages: [AuditStage] = [.requestReceived, .responseComplete]
    ) -> [[UInt8]] {
        let info = RequestInfo(method: exchange.method, requestTarget: exchange.uri)
        let config = policy.evaluate(info, username: exchange.username, groups: exchange.groups)
        guard config.level != .none else { return [] }
        let received = AuditTimestamp(exchange.received)
        var event = AuditEvent(
            level: config.level, auditID: exchange.auditID, stage: .requestReceived, requestURI: exchange.uri,
            verb: info.verb,
            user: AuditUserInfo(username: exchange.username ?? "", groups: exchange.groups),
            sourceIPs: exchange.sourceIP.map { [$0] } ?? [], userAgent: exchange.userAgent ?? "",
            objectRef: info.objectReference, requestReceivedTimestamp: received, stageTimestamp: received)
        var events: [[UInt8]] = []
        for stage in stages where config.records(stage) {
            event.stage = stage
            switch stage {
            case .requestReceived:
                event.stageTimestamp = received
                event.responseStatus = nil
            case .responseStarted:
                event.stageTimestamp = AuditTimestamp(exchange.responseStarted ?? exchange.completed)
                event.responseStatus = AuditResponseStatus(code: exchange.code)
            default:
                event.stageTimestamp = AuditTimestamp(exchange.completed)
                event.responseStatus = AuditResponseStatus(code: exchange.code)
            }
            events.append(event.jsonBytes())
        }
        return events
    }
}
