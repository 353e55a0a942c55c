import Logging
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// One HTTP/1.1 connection or one HTTP/2 stream: hands each request to the ``RequestChain``
/// in a task of its own, feeds it the request body with back-pressure, and writes back what
/// the chain answers.
///
/// Reads are gated here (`read(context:)`): while the body pipe is full, and, on HTTP/1.1,
/// from the end of one request until its response is complete (no pipelining).
final class ProxyExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum ConnectionKind: Sendable { case http1, http2 }

    private let chain: RequestChain
    private let kind: ConnectionKind
    private var context: ChannelHandlerContext?
    private var exchange: Task<Void, Never>?
    private var pipe: BodyPipe?
    private var requestComplete = false
    private var bodyBackPressure = false
    private var pendingRead = false
    private var keepAlive = true
    /// The connection counted busy while the exchange runs (the stream may be gone by its end).
    private var exchangeConnection: (any Channel)?
    /// Set once the connection became a tunnel: HTTP rules no longer apply to it.
    private var tunnelled = false

    private let connections: ConnectionTracker
    /// The exchange tasks' executor: this connection's event loop (made on the first request).
    private var executor: EventLoopTaskExecutor?
    /// A flush due `--flush-interval` after the first write it would carry.
    private var scheduledFlush: Scheduled<Void>?
    /// The client's address as text, formatted once per connection (an HTTP/2 connection's
    /// streams share it) rather than on every request: twice per audited request, at 0.6 µs
    /// each in the profile.
    private let clientIP: String?
    /// On an HTTP/2 stream, the HTTP/1-to-HTTP/2 codec's place in the pipeline: an audited
    /// response head is written below it, already a HEADERS block (``HTTP2ResponseHead``).
    private var codec: ChannelHandlerContext?

    /// How long an HTTP/1.1 connection may wait for a request head: the first after the
    /// handshake, then each after the previous response. Past it the connection is closed, so
    /// that idle or trickling clients hold no descriptor forever.
    struct HeadWaits: Sendable {
        var firstHead: TimeAmount
        var idle: TimeAmount
    }

    private let waits: HeadWaits?
    /// Since when the connection waits for a request head, and how long it may; nil while an
    /// exchange runs.
    private var waitingSince: (since: NIODeadline, limit: TimeAmount)?
    /// The one timer that checks the wait. Not scheduled and cancelled per request (a heap
    /// insertion and an allocation each): when it fires early, because requests came and went
    /// meanwhile, it is set again for the current wait's end.
    private var waitCheck: Scheduled<Void>?

    init(
        chain: RequestChain, kind: ConnectionKind, connections: ConnectionTracker, clientIP: String?,
        waits: HeadWaits? = nil
    ) {
        self.chain = chain
        self.clientIP = clientIP
        self.kind = kind
        self.connections = connections
        self.waits = waits
    }

    /// The connection waits for a request head from now on, at most `limit`.
    private func awaitHead(within limit: TimeAmount?, context: ChannelHandlerContext) {
        guard let limit else { return }
        let now = NIODeadline.now()
        waitingSince = (now, limit)
        if waitCheck == nil { scheduleWaitCheck(at: now + limit, on: context.eventLoop) }
    }

    private func scheduleWaitCheck(at deadline: NIODeadline, on eventLoop: any EventLoop) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        waitCheck = eventLoop.scheduleTask(deadline: deadline) { bound.value.checkWait() }
    }

    /// Closes the connection if it waited too long for a head; else checks again when the
    /// current wait ends. An exchange running sets no timer: its end starts a wait.
    private func checkWait() {
        waitCheck = nil
        guard let context, let (since, limit) = waitingSince, exchange == nil, !tunnelled else { return }
        if NIODeadline.now() >= since + limit {
            context.close(promise: nil)
        } else {
            scheduleWaitCheck(at: since + limit, on: context.eventLoop)
        }
    }

    private func stopWaiting() {
        waitCheck?.cancel()
        waitCheck = nil
        waitingSince = nil
    }

    /// The TCP connection this exchange runs on (an HTTP/2 stream's parent).
    private func connection(_ context: ChannelHandlerContext) -> any Channel {
        kind == .http2 ? (context.channel.parent ?? context.channel) : context.channel
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        awaitHead(within: waits?.firstHead, context: context)
        if kind == .http2 {
            codec = try? context.pipeline.syncOperations.context(handlerType: HTTP2FramePayloadToHTTP1ServerCodec.self)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopWaiting()
        self.context = nil
        codec = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard exchange == nil else {
                // A pipelined request before the previous response ended: reads are gated so this
                // cannot happen on a well-behaved client; refuse to guess.
                context.close(promise: nil)
                return
            }
            // The timer, if set, stays: it finds no wait when it fires.
            waitingSince = nil
            startExchange(head, context: context)
        case .body(let buffer):
            guard let pipe else { return }
            if !pipe.push(buffer) { bodyBackPressure = true }
        case .end:
            requestComplete = true
            pipe?.finish()
        }
    }

    private func startExchange(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let pipe = BodyPipe {
            eventLoop.execute { loopBound.value.resumeBodyReads() }
        }
        self.pipe = pipe
        requestComplete = false
        // After a request asking to switch protocols (or a CONNECT), NIO's decoder parses no
        // more requests on the connection: one that is not tunnelled (refused, answered with a
        // 401 or a 403) must close, or it would keep every byte the client sends after it,
        // unread and without bound.
        keepAlive =
            head.isKeepAlive && !(kind == .http1 && (head.method == .CONNECT || head.headers.contains(name: "upgrade")))
        let request = ProxyRequest(
            head: head, body: pipe, clientIP: clientIP, isHTTP2: kind == .http2,
            isUpgrade: kind == .http1 && HopByHop.isUpgrade(head.headers))
        let writer = ClientResponseWriter(eventLoop: eventLoop, handler: loopBound, isHTTP2: codec != nil)
        let chain = self.chain
        let connection = connection(context)
        connections.exchangeStarted(on: connection)
        exchangeConnection = connection
        let executor = self.executor ?? EventLoopTaskExecutor(eventLoop)
        self.executor = executor
        exchange = Task(executorPreference: executor) {
            await chain.handle(request, writer: writer)
            eventLoop.execute { loopBound.value.exchangeEnded() }
        }
    }

    private func resumeBodyReads() {
        bodyBackPressure = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    private func exchangeEnded() {
        exchange = nil
        if let exchangeConnection { connections.exchangeEnded(on: exchangeConnection) }
        exchangeConnection = nil
        let bodyDrained = requestComplete
        pipe?.cancel()
        pipe = nil
        bodyBackPressure = false
        guard let context, !tunnelled else { return }
        // Unread request bytes would be taken for the next request: the connection (or stream) must go.
        // An HTTP/2 stream the client has not ended is reset (RST_STREAM), as Go's server resets
        // it: left open, the client could go on uploading into it for nothing, and hold its
        // connection busy, forever.
        if !bodyDrained || kind == .http2 || !keepAlive {
            if kind == .http1 || !bodyDrained { context.close(promise: nil) }
            return
        }
        requestComplete = false
        awaitHead(within: waits?.idle, context: context)
        if pendingRead {
            pendingRead = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if bodyBackPressure || (exchange != nil && requestComplete) {
            pendingRead = true
            return
        }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopWaiting()
        exchange?.cancel()
        pipe?.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.cancel()
        pipe?.fail(error)
        context.close(promise: nil)
    }

    // MARK: writes from the exchange task (on the event loop)

    /// What an exchange writes to its client.
    fileprivate enum Outgoing: Sendable {
        case part(HTTPServerResponsePart)
        /// An audited HTTP/2 stream's final response head, as its HEADERS block: written below
        /// the codec (which would otherwise convert the head, and index the ID).
        case http2Head(HPACKHeaders)
    }

    fileprivate func write(_ outgoing: Outgoing, flush: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        switch outgoing {
        case .part(let part):
            guard let context else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
            return write(wrapOutboundOut(part), from: context, flush: flush)
        case .http2Head(let block):
            guard context != nil, let codec else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
            return write(NIOAny(HTTP2Frame.FramePayload.headers(.init(headers: block))), from: codec, flush: flush)
        }
    }

    /// Writes `data` from `place` in the pipeline (this handler's context, or the codec's below
    /// it): flushed at once, or within the flush interval.
    private func write(_ data: NIOAny, from place: ChannelHandlerContext, flush: Bool) -> EventLoopFuture<Void> {
        let promise = place.eventLoop.makePromise(of: Void.self)
        if flush {
            scheduledFlush?.cancel()
            scheduledFlush = nil
            place.writeAndFlush(data, promise: promise)
        } else {
            place.write(data, promise: promise)
            let interval = chain.options.flushInterval
            if scheduledFlush == nil, interval > .zero {
                // A body slower than the flush points still reaches the client within the interval.
                let bound = NIOLoopBound(self, eventLoop: place.eventLoop)
                scheduledFlush = place.eventLoop.scheduleTask(in: .nanoseconds(Int64(interval / .nanoseconds(1)))) {
                    bound.value.flushWritten()
                }
            }
        }
        return promise.futureResult
    }

    private func flushWritten() {
        scheduledFlush = nil
        context?.flush()
    }

    fileprivate func switchToTunnel(_ head: HTTPResponseHead, upstream: any Channel, on eventLoop: any EventLoop)
        -> EventLoopFuture<Void>
    {
        guard let context else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let (clientGlue, upstreamGlue) = TunnelGlue.pair()
        let flushed = context.writeAndFlush(wrapOutboundOut(.head(head)))
        do {
            // The client waits for the 101 before sending the new protocol's bytes, so nothing
            // can reach the HTTP decoder between this write and the removal below.
            let pipeline = context.pipeline.syncOperations
            try pipeline.addHandler(clientGlue)
            let upstreamPipeline = upstream.pipeline.syncOperations
            try upstreamPipeline.addHandler(upstreamGlue)
            // This handler goes first: bytes the decoder still holds are forwarded on removal
            // and must reach the glue, not an HTTP handler.
            pipeline.removeHandler(context: context, promise: nil)
            _ = pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self))
            _ = pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
            _ = upstreamPipeline.removeHandler(try upstreamPipeline.handler(type: UpstreamUpgradeHandler.self))
            _ = upstreamPipeline.removeHandler(
                try upstreamPipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self))
            _ = upstreamPipeline.removeHandler(try upstreamPipeline.handler(type: HTTPRequestEncoder.self))
            tunnelled = true
            context.channel.closeFuture.whenComplete { _ in upstream.close(promise: nil) }
            upstream.closeFuture.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
            context.channel.read()
            upstream.read()
        } catch {
            context.close(promise: nil)
            upstream.close(promise: nil)
            return eventLoop.makeFailedFuture(error)
        }
        return flushed
    }

    fileprivate func withContext<T>(_ body: (ChannelHandlerContext) throws -> T) throws -> T {
        guard let context else { throw ChannelError.ioOnClosedChannel }
        return try body(context)
    }
}

/// Writes an exchange's response to the client from any task, awaiting each write so a slow
/// client slows the upstream read instead of filling memory.
struct ClientResponseWriter: Sendable {
    let eventLoop: any EventLoop
    fileprivate let handler: NIOLoopBound<ProxyExchangeHandler>
    /// An HTTP/2 stream: the final head goes out as a HEADERS block made here (``HTTP2ResponseHead``).
    let isHTTP2: Bool
    /// When auditing, every response head carries the exchange's `Audit-Id`, as the API server's do.
    var auditID: String?

    fileprivate init(eventLoop: any EventLoop, handler: NIOLoopBound<ProxyExchangeHandler>, isHTTP2: Bool) {
        self.eventLoop = eventLoop
        self.handler = handler
        self.isHTTP2 = isHTTP2
    }

    /// Puts the `Audit-Id` in `part`'s head, changing the head's headers in place (the writes
    /// take their part consumed, so nothing else holds them) rather than copying them, with
    /// every name and value retained, for one more header.
    private func stamp(_ part: inout HTTPServerResponsePart) {
        guard let auditID, case .head(var head) = part else { return }
        part = .end(nil)  // lets go of the head: `head` holds the only reference to its headers
        head.headers.replaceOrAdd(name: "Audit-Id", value: auditID)
        part = .head(head)
    }

    /// Writes `part`. A flushed write is awaited until it reached the socket; an unflushed one
    /// is only queued (its completion waits for the next flush, which must follow).
    func write(_ part: consuming HTTPServerResponsePart, flush: Bool = true) async throws {
        let outgoing: ProxyExchangeHandler.Outgoing
        if !isHTTP2 {
            stamp(&part)
            outgoing = .part(part)
        } else if let auditID, case .head(let head) = part,
            let block = HTTP2ResponseHead.block(for: head, auditID: auditID)
        {
            outgoing = .http2Head(block)
        } else {
            outgoing = .part(part)
        }
        let handler = self.handler
        let eventLoop = self.eventLoop
        if eventLoop.inEventLoop {
            // The usual case: the exchange task runs on the connection's loop.
            let written = handler.value.write(outgoing, flush: flush, on: eventLoop)
            if flush { try await written.get() }
        } else if flush {
            try await eventLoop.flatSubmit { handler.value.write(outgoing, flush: true, on: eventLoop) }.get()
        } else {
            eventLoop.execute { _ = handler.value.write(outgoing, flush: false, on: eventLoop) }
        }
    }

    /// Runs `body` on the event loop with the connection's context (for the upgrade tunnel).
    func withContext<T: Sendable>(_ body: @escaping @Sendable (ChannelHandlerContext) throws -> T) async throws -> T {
        let handler = self.handler
        return try await eventLoop.submit { try handler.value.withContext(body) }.get()
    }
}

extension ClientResponseWriter {
    /// Answers `101` and turns this HTTP/1.1 connection into one end of a byte tunnel whose
    /// other end is `upstream` (already past its own HTTP exchange).
    func switchToTunnel(_ head: HTTPResponseHead, upstream: any Channel) async throws {
        var part = HTTPServerResponsePart.head(head)
        stamp(&part)
        guard case .head(let head) = part else { return }
        let handler = self.handler
        let eventLoop = self.eventLoop
        try await eventLoop.flatSubmit {
            handler.value.switchToTunnel(head, upstream: upstream, on: eventLoop)
        }.get()
    }

    /// Cuts the connection (HTTP/1.1) or resets the stream (HTTP/2) after a broken response.
    func closeConnection() async throws {
        try await withContext { context in context.close(promise: nil) }
    }
}
