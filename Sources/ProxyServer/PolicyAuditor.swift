import AuditBatcher
import Foundation
import Logging

/// The audit step for real: evaluates the policy for each exchange and writes the API server's
/// events (`RequestReceived` and `ResponseComplete`, less the omitted stages) to the audit log.
/// Batching sinks (webhook, Banyan) join through the spool next.
public final class PolicyAuditor: ExchangeAuditor {
    let policy: AuditPolicy
    let log: AuditLogFile
    let logger: Logger

    public init(policy: AuditPolicy, log: AuditLogFile, logger: Logger) {
        self.policy = policy
        self.log = log
        self.logger = logger
    }

    public var isEnabled: Bool { true }

    public func record(_ exchange: ExchangeRecord) {
        let info = RequestInfo(method: exchange.method, requestTarget: exchange.uri)
        let config = policy.evaluate(info, username: exchange.username, groups: exchange.groups)
        guard config.level != .none else { return }
        let received = AuditTimestamp(exchange.received)
        var event = AuditEvent(
            level: config.level, auditID: exchange.auditID, stage: .requestReceived, requestURI: exchange.uri,
            verb: info.verb,
            user: AuditUserInfo(username: exchange.username ?? "", groups: exchange.groups),
            sourceIPs: exchange.sourceIP.map { [$0] } ?? [], userAgent: exchange.userAgent ?? "",
            objectRef: info.objectReference, requestReceivedTimestamp: received, stageTimestamp: received)
        do {
            if config.records(.requestReceived) { try log.append(event.jsonBytes()) }
            if config.records(.responseComplete) {
                event.stage = .responseComplete
                event.stageTimestamp = AuditTimestamp(exchange.completed)
                event.responseStatus = AuditResponseStatus(code: exchange.code)
                try log.append(event.jsonBytes())
            }
        } catch {
            logger.error("audit event not written", metadata: ["error": "\(error)", "auditID": "\(exchange.auditID)"])
        }
    }
}
