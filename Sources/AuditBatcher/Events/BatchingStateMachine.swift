/// When to send which audit events: the API server's batching backend
/// (k8s.io/apiserver/plugin/pkg/audit/buffered) as a pure state machine. It performs no I/O and
/// reads no clock; the caller passes `now` in, performs the returned actions in order, and reports
/// back.
///
/// - A batch is cut when `maxBatchSize` events are pending or the oldest pending event has
///   waited `maxBatchWait`; a throttle (token bucket, one token per batch) may delay it.
/// - One batch is outstanding at a time. The Banyan sink and the webhook are sequential, and it
///   keeps ordering and retries simple: a failed batch is resent, with exponential back-off and
///   jitter, before any newer event goes out. Unlike upstream, a batch is only cut when it can be
///   sent, so events wait as pending rather than in queued batches.
/// - A first 401 asks for fresh credentials and resends at once; a 4xx other than 401/429 drops
///   the batch after `maxRejectedAttempts` refusals.
/// - `flush` (shutdown) sends whatever is pending without waiting for size, age or throttle.
public struct BatchingStateMachine<EventID: Sendable>: Sendable {
    public typealias Action = BatchingAction<EventID>
    public typealias Instant = ContinuousClock.Instant

    public let configuration: BatchingConfiguration
    public private(set) var counters = BatchingCounters()
    /// Set by `flush`: from then on pending events go out as soon as the sink is free.
    public private(set) var isFlushing = false

    private var pending = PendingEvents()
    private var outstanding: Outstanding?
    private var nextBatchID: UInt64 = 1
    /// Failed sends since the last success or drop; the exponent of the back-off.
    private var consecutiveFailures = 0
    private var tokens: Double
    private var tokensUpdatedAt: Instant?
    private var jitterSource: any RandomNumberGenerator & Sendable

    /// - Parameter jitterSource: where back-off jitter comes from; tests pass a fixed sequence.
    public init(
        configuration: BatchingConfiguration = BatchingConfiguration(),
        jitterSource: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.configuration = configuration
        self.tokens = Double(configuration.throttle?.burst ?? 0)
        self.jitterSource = jitterSource
    }

    // MARK: - State for the caller and the metrics

    /// Events accepted but not yet cut into a batch.
    public var pendingCount: Int { pending.count }

    /// How many more events `enqueue` would take now.
    public var freeBufferSpace: Int { max(configuration.bufferSize - pending.count, 0) }

    /// The batch sent or waiting to be resent, if any.
    public var outstandingBatch: AuditBatch<EventID>? { outstanding?.batch }

    /// True when every accepted event has been acknowledged or dropped.
    public var isIdle: Bool { outstanding == nil && pending.count == 0 }

    /// When the oldest event not yet acknowledged was enqueued.
    public var oldestUnsentEnqueuedAt: Instant? {
        outstanding?.oldestEnqueuedAt ?? pending.first?.enqueuedAt
    }

    /// For `kube_oidc_proxy_audit_oldest_unsent_event_age_seconds`: zero when nothing is unsent.
    public func oldestUnsentAge(now: Instant) -> Duration {
        guard let oldest = oldestUnsentEnqueuedAt, oldest < now else { return .zero }
        return oldest.duration(to: now)
    }

    // MARK: - Events

    /// Takes as many of `ids` as the buffer has room for, in order. Call `tick` afterwards.
    public mutating func enqueue(_ ids: some Collection<EventID>, now: Instant) -> BufferAdmission {
        enqueue(ids, enqueuedAt: now)
    }

    /// Events due at once, whatever `maxBatchWait` says: what a restart found unsent in the
    /// spool, which has waited long enough. Taken as if they had waited it out already (the
    /// throttle still applies). Enqueue them before any newer event.
    public mutating func enqueueOverdue(_ ids: some Collection<EventID>, now: Instant) -> BufferAdmission {
        enqueue(ids, enqueuedAt: now - configuration.maxBatchWait)
    }

    private mutating func enqueue(_ ids: some Collection<EventID>, enqueuedAt: Instant) -> BufferAdmission {
        let taken = min(freeBufferSpace, ids.count)
        for id in ids.prefix(taken) {
            pending.append(PendingEvent(id: id, enqueuedAt: enqueuedAt))
        }
        return taken == ids.count ? .accepted(taken) : .bufferFull(accepted: taken, refused: ids.count - taken)
    }

    public mutating func enqueue(_ id: EventID, now: Instant) -> BufferAdmission {
        enqueue(CollectionOfOne(id), now: now)
    }

    /// Whatever is due now: a send, or when to ask again.
    public mutating func tick(now: Instant) -> [Action] {
        decide(now: now)
    }

    public mutating func sendSucceeded(batchID: UInt64, now: Instant) -> [Action] {
        if let current = outstanding, current.batch.id == batchID, current.isInFlight {
            counters.batchesSent += 1
            counters.eventsSent += current.batch.eventIDs.count
            outstanding = nil
            consecutiveFailures = 0
        }
        return decide(now: now)
    }

    /// The batch in flight needs no send after all: every event of it left the spool before it
    /// was read (a full spool dropped them). Neither a success nor a failure: a back-off in force
    /// stays in force for the next batch, and nothing counts as sent.
    public mutating func sendUnneeded(batchID: UInt64, now: Instant) -> [Action] {
        if let current = outstanding, current.batch.id == batchID, current.isInFlight {
            outstanding = nil
        }
        return decide(now: now)
    }

    public mutating func sendFailed(batchID: UInt64, now: Instant, kind: BatchSendFailure) -> [Action] {
        guard var current = outstanding, current.batch.id == batchID, current.isInFlight else {
            return decide(now: now)
        }
        counters.batchesFailed += 1
        switch kind {
        case .unauthorized:
            current.unauthorizedInARow += 1
            if current.unauthorizedInARow == 1 {
                // The access token most likely expired: exchange it and resend, without back-off.
                current.batch.attempt += 1
                outstanding = current
                return [.refreshCredentials, .send(current.batch)]
            }
            // A fresh token was refused too; hammering the token endpoint will not help.
            outstanding = current
            backOff(now: now, retryAfter: nil, refreshFirst: true)
        case .retryable(let retryAfter):
            current.unauthorizedInARow = 0
            outstanding = current
            backOff(now: now, retryAfter: retryAfter, refreshFirst: false)
        case .rejected(let statusCode):
            current.unauthorizedInARow = 0
            current.rejections += 1
            if current.rejections >= configuration.maxRejectedAttempts {
                outstanding = nil
                // The sink answered; only this batch is unwelcome, so the next one goes out freely.
                consecutiveFailures = 0
                counters.batchesDropped += 1
                counters.eventsDropped += current.batch.eventIDs.count
                let reason = BatchDropReason.rejected(statusCode: statusCode, attempts: current.batch.attempt)
                return [.drop(current.batch, reason)] + decide(now: now)
            }
            outstanding = current
            backOff(now: now, retryAfter: nil, refreshFirst: false)
        }
        return decide(now: now)
    }

    /// Shutdown: from now on pending events are sent as soon as the sink is free, ignoring
    /// `maxBatchWait` and the throttle. A batch backing off keeps waiting unless `force`, which
    /// resends it now (once: if that fails, it backs off again, so a dead sink is not hammered).
    public mutating func flush(now: Instant, force: Bool = false) -> [Action] {
        isFlushing = true
        if force, var current = outstanding, case .backingOff(_, let refreshFirst) = current.phase {
            current.phase = .backingOff(until: now, refreshFirst: refreshFirst)
            outstanding = current
        }
        return decide(now: now)
    }

    // MARK: - Decisions

    private mutating func decide(now: Instant) -> [Action] {
        if var current = outstanding {
            guard case .backingOff(let until, let refreshFirst) = current.phase else { return [] }
            guard until <= now else { return [.wait(until: until)] }
            current.phase = .inFlight
            current.batch.attempt += 1
            outstanding = current
            return refreshFirst ? [.refreshCredentials, .send(current.batch)] : [.send(current.batch)]
        }
        guard let oldest = pending.first else { return [] }
        if !isFlushing {
            let ageDeadline = oldest.enqueuedAt + configuration.maxBatchWait
            if pending.count < configuration.maxBatchSize, now < ageDeadline {
                return [.wait(until: ageDeadline)]
            }
            if let throttle = configuration.throttle, let tokenDue = takeToken(throttle, now: now) {
                return [.wait(until: tokenDue)]
            }
        }
        let events = pending.removeFirst(min(configuration.maxBatchSize, pending.count))
        // A closure: a key path here (a generic context) is built anew for every batch.
        let batch = AuditBatch(id: nextBatchID, eventIDs: events.map { $0.id })
        nextBatchID += 1
        outstanding = Outstanding(batch: batch, oldestEnqueuedAt: events[0].enqueuedAt, phase: .inFlight)
        return [.send(batch)]
    }

    /// Takes a token and returns nil, or returns when the next token will be there.
    private mutating func takeToken(_ throttle: BatchingConfiguration.Throttle, now: Instant) -> Instant? {
        if let updatedAt = tokensUpdatedAt, updatedAt < now {
            tokens = min(Double(throttle.burst), tokens + Self.seconds(updatedAt.duration(to: now)) * throttle.qps)
        }
        tokensUpdatedAt = now
        // The tolerance absorbs rounding, so waking at the announced instant finds a whole token.
        guard tokens >= 1 - 1e-9 else {
            return now + .seconds((1 - tokens) / throttle.qps)
        }
        tokens = max(tokens - 1, 0)
        return nil
    }

    /// `initialBackoff` doubled per consecutive failure, capped at `maxBackoff`, varied by
    /// ±`jitter`, and never shorter than the server's `Retry-After`, which the cap bounds too: a
    /// server asking for hours (or for more seconds than a `Duration` holds) would otherwise
    /// stall shipping while the spool fills, or trap computing the deadline.
    ///
    /// The first delay is at least ``minimumBackoff``: a batch is retried until it is delivered,
    /// so from `--audit-webhook-initial-backoff=0` (which the API server takes: it retries five
    /// times at once, then drops the batch) the delay doubled would stay zero, and a sink that is
    /// down would be retried in a loop, a warning logged each time.
    private mutating func backOff(now: Instant, retryAfter: Duration?, refreshFirst: Bool) {
        consecutiveFailures += 1
        let cap = Self.seconds(configuration.maxBackoff)
        var base = max(Self.seconds(configuration.initialBackoff), Self.seconds(Self.minimumBackoff))
        for _ in 1..<consecutiveFailures where base < cap {
            base *= 2
        }
        // 53 random bits make a uniform fraction in [0, 1), spread to [1 - jitter, 1 + jitter).
        let unit = Double(jitterSource.next() >> 11) * 0x1p-53
        var delay = min(min(base, cap) * (1 + configuration.jitter * (2 * unit - 1)), cap)
        if let retryAfter, Self.seconds(retryAfter) > delay {
            delay = min(Self.seconds(retryAfter), cap)
        }
        outstanding?.phase = .backingOff(until: now + .seconds(delay), refreshFirst: refreshFirst)
    }

    /// The shortest first back-off, whatever `initialBackoff` says.
    public static var minimumBackoff: Duration { .milliseconds(100) }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

extension BatchingStateMachine {
    private struct PendingEvent: Sendable {
        var id: EventID
        var enqueuedAt: Instant
    }

    /// A FIFO that removes from the front in O(1), compacting now and then.
    private struct PendingEvents: Sendable {
        private var storage: [PendingEvent] = []
        private var head = 0

        var count: Int { storage.count - head }
        var first: PendingEvent? { head < storage.count ? storage[head] : nil }

        mutating func append(_ event: PendingEvent) {
            storage.append(event)
        }

        mutating func removeFirst(_ count: Int) -> [PendingEvent] {
            let removed = Array(storage[head..<head + count])
            head += count
            if head == storage.count {
                storage.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > storage.count {
                storage.removeFirst(head)
                head = 0
            }
            return removed
        }
    }

    private struct Outstanding: Sendable {
        enum Phase: Sendable {
            case inFlight
            case backingOff(until: Instant, refreshFirst: Bool)
        }

        var batch: AuditBatch<EventID>
        var oldestEnqueuedAt: Instant
        var phase: Phase
        var rejections = 0
        var unauthorizedInARow = 0

        var isInFlight: Bool {
            if case .inFlight = phase { return true }
            return false
        }
    }
}
