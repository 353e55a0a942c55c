import AuditBatcher
import Foundation
import Logging
import Synchronization

/// The audit step for real: evaluates the policy once per exchange and hands the API server's
/// events (`RequestReceived`, then `ResponseComplete` or `Panic`, less the omitted stages) to
/// every backend: the audit log, and the shipper of each batching sink (webhook, Banyan).
public final class PolicyAuditor: ExchangeAuditor {
    let policy: AuditPolicy
    let backends: [any AuditBackend]
    let logger: Logger
    /// Whether some backend reads the events' structure; else only their bytes are kept.
    let keepsEvents: Bool
    /// Per backend, when its failures may be logged again: a full disk fails every exchange,
    /// and a line each would flood the log (the metrics count the events all the same).
    private let failures = RepeatedFailureLog(interval: PolicyAuditor.failureLogInterval)

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
        let panicked = exchange.cutShort != nil
        let stages: [AuditStage]
        if exchange.authenticationFailed {
            stages = Self.startedAlone
        } else if exchange.responseStarted != nil {
            // A long-running exchange recorded its first stages when its response started.
            stages = panicked ? Self.panicAlone : Self.completeAlone
        } else if decision.requestInfo?.isLongRunning == true {
            // One whose answer came all at once (a refusal, an exec the API server declined).
            stages = panicked ? Self.receivedStartedThenPanic : Self.receivedStartedThenComplete
        } else {
            stages = panicked ? Self.receivedThenPanic : Self.receivedThenComplete
        }
        write(exchange, decision, stages: stages)
    }

    public func recordStart(_ exchange: ExchangeRecord, as decision: AuditDecision) {
        write(exchange, decision, stages: Self.receivedThenStarted)
    }

    // The stage lists an exchange records, made once rather than per exchange.
    private static let receivedThenComplete: [AuditStage] = [.requestReceived, .responseComplete]
    private static let receivedThenPanic: [AuditStage] = [.requestReceived, .panic]
    private static let completeAlone: [AuditStage] = [.responseComplete]
    private static let panicAlone: [AuditStage] = [.panic]
    private static let receivedThenStarted: [AuditStage] = [.requestReceived, .responseStarted]
    private static let startedAlone: [AuditStage] = [.responseStarted]
    private static let receivedStartedThenComplete: [AuditStage] = [
        .requestReceived, .responseStarted, .responseComplete,
    ]
    private static let receivedStartedThenPanic: [AuditStage] = [.requestReceived, .responseStarted, .panic]

    /// Writes the exchange's events for `stages` to every backend. Unless a backend reshapes
    /// events, they are serialized into one buffer, lent to each backend in turn.
    private func write(_ exchange: ExchangeRecord, _ decision: AuditDecision, stages: [AuditStage]) {
        guard decision.level != .none else { return }
        if keepsEvents {
            let events = events(exchange, decision, stages: stages, keepingEvents: true)
            guard !events.isEmpty else { return }
            for backend in backends {
                do { try backend.accept(encoded: events) } catch { report(error, from: backend, exchange) }
            }
            return
        }
        var json = ExchangeEventsJSON(
            objectBytes: (exchange.requestObject?.bytes.count ?? 0) + (exchange.responseObject?.bytes.count ?? 0))
        writeEvents(exchange, decision, stages: stages, into: &json)
        guard json.count > 0 else { return }
        json.withEvents { events in
            for backend in backends {
                do { try backend.accept(json: events) } catch { report(error, from: backend, exchange) }
            }
        }
    }

    /// Logs a backend's failure: the first at once, then at most one line every 10 s, saying
    /// how many exchanges failed since the last.
    private func report(_ error: any Error, from backend: any AuditBackend, _ exchange: ExchangeRecord) {
        guard let failures = failures.occurred(backend.name) else { return }
        logger.error(
            "audit events not written",
            metadata: [
                "backend": "\(backend.name)", "error": "\(error)", "auditID": "\(exchange.auditID)",
                "exchanges": "\(failures)",
            ])
    }

    static let failureLogInterval: Duration = .seconds(10)

    /// The exchange's events for `stages`, in stage order, less the stages the policy omits;
    /// none at level `None`. The bodies go into the last event only, as the API server's
    /// `RequestReceived` precedes reading them and `ResponseStarted` precedes the response's.
    func events(
        _ exchange: ExchangeRecord, _ decision: AuditDecision, stages: [AuditStage], keepingEvents: Bool = true
    ) -> [EncodedAuditEvent] {
        var built: [AuditEvent] = []
        forEachEvent(exchange, decision, stages: stages) { built.append($0) }
        // Written once when there are several: the URI, user, source and object reference are
        // the same at every stage.
        let shared = built.count > 1 ? built[0].stageIndependentJSON() : nil
        return built.map { event in
            shared.map { EncodedAuditEvent(event, sharing: $0, keepingEvent: keepingEvents) }
                ?? EncodedAuditEvent(event, keepingEvent: keepingEvents)
        }
    }

    /// Builds the events ``events(_:_:stages:keepingEvents:)`` describes, one at a time.
    private func forEachEvent(
        _ exchange: ExchangeRecord, _ decision: AuditDecision, stages: [AuditStage], _ body: (AuditEvent) -> Void
    ) {
        guard decision.config.level != .none, let info = decision.requestInfo else { return }
        let received = AuditTimestamp(exchange.received)
        var event = AuditEvent(
            level: decision.config.level, auditID: exchange.auditID, stage: .requestReceived,
            requestURI: exchange.uri, verb: info.verb,
            user: AuditUserInfo(username: exchange.username ?? "", groups: exchange.groups),
            sourceIPs: exchange.sourceIPs, userAgent: exchange.userAgent ?? "",
            objectRef: info.objectReference, requestReceivedTimestamp: received, stageTimestamp: received)
        forEachStage(exchange, decision, stages: stages) { stage, _, fields in
            event.stage = stage
            event.stageTimestamp = fields.stageTimestamp
            event.responseStatus = fields.responseStatus
            event.requestObject = fields.requestObject
            event.responseObject = fields.responseObject
            event.annotations = fields.annotations
            body(event)
        }
    }

    /// Writes the same events as ``forEachEvent(_:_:stages:_:)`` straight into `json`, from the
    /// exchange's fields: building an ``AuditEvent`` to write cost ~1.8 µs per exchange.
    private func writeEvents(
        _ exchange: ExchangeRecord, _ decision: AuditDecision, stages: [AuditStage],
        into json: inout ExchangeEventsJSON
    ) {
        forEachStage(exchange, decision, stages: stages) { stage, info, fields in
            json.append(
                stage, level: decision.config.level, auditID: exchange.auditID, requestURI: exchange.uri,
                requestInfo: info, username: exchange.username, groups: exchange.groups, sourceIPs: exchange.sourceIPs,
                userAgent: exchange.userAgent, responseStatus: fields.responseStatus,
                requestObject: fields.requestObject, responseObject: fields.responseObject,
                requestReceivedTimestamp: fields.requestReceivedTimestamp, stageTimestamp: fields.stageTimestamp,
                annotations: fields.annotations)
        }
    }

    /// What one stage's event says that the others may not: decided here, once for both ways of
    /// writing events.
    private struct StageFields {
        var requestReceivedTimestamp: AuditTimestamp
        var stageTimestamp: AuditTimestamp
        var responseStatus: AuditResponseStatus?
        var requestObject: RawJSON?
        var responseObject: RawJSON?
        var annotations: [String: String] = [:]
    }

    /// The stages the exchange records, in order, less those the policy omits (none at level
    /// `None`), each with the request's info and what its event says.
    private func forEachStage(
        _ exchange: ExchangeRecord, _ decision: AuditDecision, stages: [AuditStage],
        _ body: (AuditStage, RequestInfo, StageFields) -> Void
    ) {
        let config = decision.config
        guard config.level != .none, let info = decision.requestInfo else { return }
        let received = AuditTimestamp(exchange.received)
        for stage in stages where config.records(stage) {
            var fields = StageFields(requestReceivedTimestamp: received, stageTimestamp: received)
            switch stage {
            case .requestReceived:
                break
            case .responseStarted:
                fields.stageTimestamp = AuditTimestamp(exchange.responseStarted ?? exchange.completed)
                // A refusal's `Status` as a whole: the API server's error writer copies it into the
                // event before the head goes out. An answer relayed from the API server: its code.
                fields.responseStatus = exchange.refusal ?? AuditResponseStatus(code: exchange.code)
            case .responseComplete, .panic:
                fields.stageTimestamp = AuditTimestamp(exchange.completed)
                fields.responseStatus =
                    stage == .panic
                    ? Self.panicStatus(exchange.cutShort ?? "")
                    : exchange.refusal ?? AuditResponseStatus(code: exchange.code)
                addObjects(of: exchange, to: &fields, stage: stage, config: config)
            }
            body(stage, info, fields)
        }
    }

    /// What the API server records for a handler that panicked; here, a response cut short.
    static func panicStatus(_ message: String) -> AuditResponseStatus {
        AuditResponseStatus(code: 500, status: "Failure", reason: "InternalError", message: message)
    }

    private func addObjects(
        of exchange: ExchangeRecord, to fields: inout StageFields, stage: AuditStage, config: RequestAuditConfig
    ) {
        if config.level >= .request { fields.requestObject = exchange.requestObject }
        // A response cut short is no object.
        if config.level >= .requestResponse, stage != .panic { fields.responseObject = exchange.responseObject }
        if config.omitManagedFields {
            fields.requestObject = fields.requestObject?.withoutManagedFields()
            fields.responseObject = fields.responseObject?.withoutManagedFields()
        }
        if exchange.objectsTruncated, config.level >= .request {
            fields.annotations[AuditTruncation.annotationKey] = AuditTruncation.annotationValue
        }
    }
}
