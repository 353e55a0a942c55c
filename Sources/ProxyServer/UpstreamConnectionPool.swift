import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// Where the proxy's own connections to the API server go.
struct UpstreamEndpoint: Sendable {
    var host: String
    var port: Int
    /// nil for a plain `http://` server. Offers HTTP/1.1 only.
    var tls: NIOSSLContext?
    /// The same trust, offering `h2` first: for long-running requests.
    var multiplexedTLS: NIOSSLContext?
    /// The `Host` header, as a client would send it for the server URL.
    var hostHeader: String
    /// The name sent in TLS SNI and checked against the certificate: the kubeconfig's
    /// `tls-server-name` when set, else the server's host unless it is an IP address.
    var serverHostname: String?
    /// The server URL's path, without a trailing slash ("" for none): prefixed to every request.
    var pathPrefix: String
}

/// Why an upstream exchange failed before the API server's response head arrived.
enum UpstreamExchangeError: Error, CustomStringConvertible {
    /// No head within `--request-timeout`.
    case timedOut
    /// The connection closed before a response head.
    case closedBeforeResponse

    var description: String {
        switch self {
        case .timedOut: "no response within the request timeout"
        case .closedBeforeResponse: "the API server closed the connection before answering"
        }
    }
}

/// The API server's answer: its head at once, its body as it arrives.
struct UpstreamResponse: Sendable {
    let head: HTTPResponseHead
    let body: BodyPipe
    /// Closes the connection if this exchange still holds it (its response not complete yet):
    /// for a client that went away mid-body. Once complete, the connection may already serve
    /// another exchange and is left alone.
    let abandon: @Sendable () -> Void
}

/// Keep-alive HTTP/1.1 connections to the API server, pooled per event loop.
///
/// An exchange runs on its client connection's event loop (``EventLoopTaskExecutor``) and
/// borrows a connection of that same loop, so request and response are relayed without locks
/// or thread hops; async-http-client cost more CPU per request than everything else the proxy
/// does together (an actor and a task per request, URL parsing, tracing). The body comes back
/// through a ``BodyPipe``: a slow client stops the reads from the API server.
final class UpstreamConnectionPool: Sendable {
    let endpoint: UpstreamEndpoint
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let maxIdlePerLoop: Int
    private let loops = Mutex<[ObjectIdentifier: NIOLoopBound<LoopPool>]>([:])

    init(
        endpoint: UpstreamEndpoint, connectTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(90),
        maxIdlePerLoop: Int = 128
    ) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxIdlePerLoop = maxIdlePerLoop
    }

    /// Sends `head` (with `body`, if any) and returns the response head once it arrived; the
    /// body follows in the returned pipe. `deadline` bounds the wait for the head. A reused
    /// connection the server had closed meanwhile is retried once on a fresh one when the
    /// request has no body, as Go's transport does.
    func send(
        _ head: HTTPRequestHead, body: BodyPipe?, longRunning: Bool = false, on eventLoop: any EventLoop,
        deadline: NIODeadline?
    ) async throws -> UpstreamResponse {
        var head = head
        head.uri = endpoint.pathPrefix + head.uri
        head.headers.replaceOrAdd(name: "Host", value: endpoint.hostHeader)
        let pool = loopPool(eventLoop)
        var attempt = 0
        while true {
            attempt += 1
            let lease = try await eventLoop.submitNow {
                pool.value.lease(from: self, multiplexed: longRunning, on: eventLoop)
            }.get()
            do {
                return try await exchange(head, body: body, on: lease, deadline: deadline)
            } catch
                where Self.retriesOnAFreshConnection(
                    error, head: head, reused: lease.reused, hasBody: body != nil, attempt: attempt)
            {
                continue
            }
        }
    }

    /// Whether a request that failed on a reused connection goes again on a fresh one, as Go's
    /// transport decides: once, only a request it can send again unchanged (no body, and
    /// `GET`, `HEAD`, `OPTIONS` or `TRACE`, or one carrying an `Idempotency-Key`), and only when
    /// the connection was gone (closed before an answer, reset, a broken pipe: the API server
    /// closing it as idle while it was lent). A bodiless `POST` or `DELETE` may have run: it is
    /// not sent twice. (Only `closedBeforeResponse` was retried, for any method; a reset was
    /// a 502 even for a `GET`.)
    static func retriesOnAFreshConnection(
        _ error: any Error, head: HTTPRequestHead, reused: Bool, hasBody: Bool, attempt: Int
    ) -> Bool {
        guard reused, !hasBody, attempt == 1 else { return false }
        switch head.method {
        case .GET, .HEAD, .OPTIONS, .TRACE: break
        default:
            guard head.headers.contains(name: "idempotency-key") || head.headers.contains(name: "x-idempotency-key")
            else { return false }
        }
        switch error {
        case UpstreamExchangeError.closedBeforeResponse: return true
        case let error as IOError: return error.errnoCode == ECONNRESET || error.errnoCode == EPIPE
        case NIOSSLError.uncleanShutdown: return true
        default: return false
        }
    }

    /// Closes the idle connections (at shutdown).
    func closeIdle() {
        let pools = loops.withLock { Array($0.values) }
        for pool in pools {
            pool.eventLoop.execute { pool.value.closeAll() }
        }
    }

    private func loopPool(_ eventLoop: any EventLoop) -> NIOLoopBound<LoopPool> {
        loops.withLock { loops in
            let key = ObjectIdentifier(eventLoop)
            if let pool = loops[key] { return pool }
            let pool = NIOLoopBound(LoopPool(maxIdle: maxIdlePerLoop, idleTimeout: idleTimeout), eventLoop: eventLoop)
            loops[key] = pool
            return pool
        }
    }

    private func exchange(
        _ head: HTTPRequestHead, body: BodyPipe?, on lease: Lease, deadline: NIODeadline?
    ) async throws -> UpstreamResponse {
        let channel = lease.channel
        let handler = lease.handler
        let eventLoop = channel.eventLoop
        let response = try await withTaskCancellationHandler {
            // One step on the loop, so the exchange is set up before its first write can complete.
            let responseHead = eventLoop.submitNow {
                let responseHead = handler.value.begin(deadline: deadline, on: eventLoop)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                if body == nil {
                    let end = eventLoop.makePromise(of: Void.self)
                    end.futureResult.whenComplete { handler.value.requestSent($0) }
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: end)
                }
                return responseHead
            }
            if let body {
                // The body goes up while the response may already come down (an early refusal).
                Task(executorPreference: EventLoopTaskExecutor(eventLoop)) {
                    await Self.upload(body, to: channel, handler: handler)
                }
            }
            return try await responseHead.get()
        } onCancel: {
            // Before the head, the exchange holds the connection.
            channel.close(promise: nil)
        }
        return response
    }

    private static func upload(_ body: BodyPipe, to channel: any Channel, handler: NIOLoopBound<ConnectionHandler>)
        async
    {
        do {
            for try await chunk in body {
                // A write to an HTTP/2 stream completes once handed to the connection, not once
                // sent: waiting for writability keeps a fast client from filling memory.
                try await channel.eventLoop.submitNow { handler.value.whenWritable(on: channel.eventLoop) }.get()
                try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(chunk))).get()
            }
            // Marked sent in the write's own callback: the response may end right after it.
            let end = channel.eventLoop.makePromise(of: Void.self)
            end.futureResult.whenComplete { handler.value.requestSent($0) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: end)
            try await end.futureResult.get()
        } catch {
            body.cancel()
            handler.value.requestSent(.failure(error))
        }
    }

    /// Opens a connection on `eventLoop` (called there, by the loop's pool). Over TLS, ALPN
    /// decides: HTTP/2 when the API server offers it, else HTTP/1.1.
    fileprivate func connect(multiplexed: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<Connected> {
        let endpoint = self.endpoint
        let tls = multiplexed ? endpoint.multiplexedTLS : endpoint.tls
        let serverHostname = endpoint.serverHostname
        let connected = eventLoop.makePromise(of: Connected.self)
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(TCPKeepAlive.idle, value: TCPKeepAlive.seconds)
            .channelOption(TCPKeepAlive.interval, value: TCPKeepAlive.seconds)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    let watcher = NegotiationWatcher(connected)
                    guard let tls else {
                        try pipeline.addHandler(watcher)
                        connected.succeed(.http1(try Self.configureHTTP1(channel, before: watcher)))
                        return
                    }
                    try pipeline.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    try pipeline.addHandler(
                        ApplicationProtocolNegotiationHandler { result, channel in
                            channel.eventLoop.makeCompletedFuture {
                                if case .negotiated("h2") = result {
                                    connected.succeed(.http2(try Self.configureHTTP2(channel, before: watcher)))
                                } else {
                                    connected.succeed(.http1(try Self.configureHTTP1(channel, before: watcher)))
                                }
                            }
                        })
                    try pipeline.addHandler(watcher)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenFailure { connected.fail($0) }
        return connected.futureResult
    }

    private static func configureHTTP1(_ channel: any Channel, before watcher: NegotiationWatcher) throws -> Lease {
        let pipeline = channel.pipeline.syncOperations
        let handler = ConnectionHandler()
        try pipeline.addHandlers(
            [HTTPRequestEncoder(), ByteToMessageHandler(HTTPResponseDecoder()), handler], position: .before(watcher))
        return Lease(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), reused: false)
    }

    private static func configureHTTP2(_ channel: any Channel, before watcher: NegotiationWatcher) throws
        -> HTTP2Connection
    {
        // The API server pushes nothing; a stream it opens is refused by closing it.
        let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .client, connectionConfiguration: .init(), streamConfiguration: .init(), position: .before(watcher)
        ) { stream in stream.close() }
        let connection = HTTP2Connection(channel: channel, multiplexer: multiplexer)
        try channel.pipeline.syncOperations.addHandler(
            GoAwayWatcher { [weak connection] in connection?.goingAway = true }, position: .before(watcher))
        return connection
    }
}

/// What a new connection turned out to be.
enum Connected: Sendable {
    /// One exchange at a time; kept alive and reused.
    case http1(Lease)
    /// Streams multiplexed on one connection.
    case http2(HTTP2Connection)
}

/// An HTTP/2 connection to the API server, with the streams it carries. Used on its loop only
/// (the multiplexer is loop-bound), hence `@unchecked Sendable` for the trip through a future
/// completed on that same loop.
final class HTTP2Connection: @unchecked Sendable {
    /// Below Go's default limit of 250 (the API server's, unless set), so a stream is never
    /// queued behind the peer's SETTINGS_MAX_CONCURRENT_STREAMS; past it a new connection opens.
    static let maxStreams = 100

    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    var openStreams = 0

    init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }

    /// The API server sent GOAWAY (a restart, `--goaway-chance`): the streams it carries run to
    /// their end, but a new one opened on it would fail (and hang a watch until the old ones
    /// end), so new streams go to a new connection, as Go's transport does.
    var goingAway = false

    var hasRoom: Bool { channel.isActive && !goingAway && openStreams < Self.maxStreams }
}

/// Tells its connection when the API server sent GOAWAY. Frames of the connection itself
/// (stream 0) reach it past swift-nio-http2's handler; they are passed on untouched.
final class GoAwayWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    private let received: () -> Void

    init(_ received: @escaping () -> Void) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goAway = unwrapInboundIn(data).payload { received() }
        context.fireChannelRead(data)
    }
}

/// Fails the connection attempt with the first error (a TLS handshake refused: "certificate
/// not trusted" reaches the client's 502) or the close, whichever comes first; once the
/// connection is set up it only passes events on.
final class NegotiationWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    private let connected: EventLoopPromise<Connected>

    init(_ connected: EventLoopPromise<Connected>) {
        self.connected = connected
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connected.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connected.fail(UpstreamExchangeError.closedBeforeResponse)
        context.fireChannelInactive()
    }
}

/// A connection lent to one exchange: an HTTP/1.1 connection, or an HTTP/2 stream.
struct Lease: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ConnectionHandler>
    /// On a connection used before (the server may have closed it meanwhile).
    let reused: Bool
}

/// One event loop's connections, used on that loop only: idle HTTP/1.1 connections kept for
/// reuse, and HTTP/2 connections carrying the long-running requests' streams (as few as the
/// stream limit allows).
final class LoopPool {
    private var idle: [Lease] = []
    private var timers: [ObjectIdentifier: Scheduled<Void>] = [:]
    private var http2: [HTTP2Connection] = []
    /// Set once a connection offering `h2` negotiated.
    private var speaksHTTP2: Bool?
    /// A connection being opened while the protocol is unknown or every HTTP/2 connection is
    /// full: the exchanges asking meanwhile wait for it instead of opening their own.
    private var opening: EventLoopFuture<Void>?
    private let maxIdle: Int
    private let idleTimeout: TimeAmount

    init(maxIdle: Int, idleTimeout: TimeAmount) {
        self.maxIdle = maxIdle
        self.idleTimeout = idleTimeout
    }

    /// A connection for one exchange. Long-running requests (watches, `logs -f`) share HTTP/2
    /// connections when the API server speaks it: an idle watch then costs a stream, not a TLS
    /// connection. Everything else goes over keep-alive HTTP/1.1, which costs less CPU per
    /// request here and bounds upload buffering by the socket.
    func lease(from pool: UpstreamConnectionPool, multiplexed: Bool, on eventLoop: any EventLoop)
        -> EventLoopFuture<Lease>
    {
        if multiplexed, speaksHTTP2 != false {
            return leaseStream(from: pool, on: eventLoop)
        }
        // Most recently used first: the least likely to have been closed by the server.
        while let lease = idle.popLast() {
            timers.removeValue(forKey: ObjectIdentifier(lease.channel))?.cancel()
            guard lease.channel.isActive else { continue }
            return eventLoop.makeSucceededFuture(Lease(channel: lease.channel, handler: lease.handler, reused: true))
        }
        return pool.connect(multiplexed: false, on: eventLoop).assumeIsolated().flatMapThrowing { connected in
            try self.adopt(connected, multiplexed: false, pool: pool, on: eventLoop)
        }.nonisolated().flatMap { $0 }
    }

    private func leaseStream(from pool: UpstreamConnectionPool, on eventLoop: any EventLoop) -> EventLoopFuture<Lease> {
        if let connection = http2.last(where: \.hasRoom) {
            return openStream(on: connection, pool: pool)
        }
        if let opening {
            return opening.assumeIsolated().flatMap { self.lease(from: pool, multiplexed: true, on: eventLoop) }
                .nonisolated()
        }
        let leased = pool.connect(multiplexed: true, on: eventLoop).assumeIsolated().flatMapThrowing { connected in
            try self.adopt(connected, multiplexed: true, pool: pool, on: eventLoop)
        }.nonisolated().flatMap { $0 }
        let opened = leased.map { _ in () }
        opening = opened
        opened.assumeIsolated().whenComplete { _ in self.opening = nil }
        return leased
    }

    /// Takes a new connection in: an HTTP/1.1 one is lent at once, an HTTP/2 one gets a stream.
    private func adopt(
        _ connected: Connected, multiplexed: Bool, pool: UpstreamConnectionPool, on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<Lease> {
        switch connected {
        case .http1(let lease):
            // Offered h2 and declined (or plain http): long-running requests use HTTP/1.1 too.
            if multiplexed { speaksHTTP2 = false }
            watch(lease)
            return eventLoop.makeSucceededFuture(lease)
        case .http2(let connection):
            speaksHTTP2 = true
            http2.append(connection)
            connection.channel.closeFuture.assumeIsolated().whenComplete { _ in
                self.http2.removeAll { $0 === connection }
            }
            return openStream(on: connection, pool: pool, fresh: true)
        }
    }

    private func openStream(on connection: HTTP2Connection, pool: UpstreamConnectionPool, fresh: Bool = false)
        -> EventLoopFuture<Lease>
    {
        connection.openStreams += 1
        let https = pool.endpoint.tls != nil
        return connection.multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                let pipeline = stream.pipeline.syncOperations
                try pipeline.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: https ? .https : .http))
                try pipeline.addHandler(ConnectionHandler())
            }
        }.assumeIsolated().flatMapThrowing { stream in
            stream.closeFuture.assumeIsolated().whenComplete { _ in connection.openStreams -= 1 }
            let handler = try stream.pipeline.syncOperations.handler(type: ConnectionHandler.self)
            return Lease(channel: stream, handler: NIOLoopBound(handler, eventLoop: stream.eventLoop), reused: !fresh)
        }.nonisolated()
    }

    /// Called once per new HTTP/1.1 connection: it comes back here after each complete
    /// exchange, and is forgotten when it closes. (The pool outlives its connections.)
    private func watch(_ lease: Lease) {
        let handler = lease.handler.value
        handler.onReusable = { self.release(lease) }
        lease.channel.closeFuture.assumeIsolated().whenComplete { _ in
            handler.onReusable = nil
            self.forget(lease)
        }
    }

    private func release(_ lease: Lease) {
        guard idle.count < maxIdle, lease.channel.isActive else {
            lease.channel.close(promise: nil)
            return
        }
        idle.append(lease)
        let channel = lease.channel
        timers[ObjectIdentifier(channel)] = channel.eventLoop.scheduleTask(in: idleTimeout) {
            channel.close(promise: nil)
        }
    }

    private func forget(_ lease: Lease) {
        timers.removeValue(forKey: ObjectIdentifier(lease.channel))?.cancel()
        idle.removeAll { $0.channel === lease.channel }
    }

    func closeAll() {
        for lease in idle { lease.channel.close(promise: nil) }
        for connection in http2 { connection.channel.close(promise: nil) }
    }
}

/// The proxy's end of one upstream connection: hands the response of the current exchange to
/// its task (head by promise, body through a ``BodyPipe`` whose back-pressure gates the reads),
/// and offers the connection back to the pool once request and response are both complete.
final class ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// Set by the pool: the connection may serve another exchange.
    var onReusable: (() -> Void)?
    private var context: ChannelHandlerContext?
    private var responseHead: EventLoopPromise<UpstreamResponse>?
    private var body: BodyPipe?
    private var timeout: Scheduled<Void>?
    private var requestSent = false
    private var responseReceived = false
    private var keepAlive = true
    private var informational = false
    private var readsPaused = false
    private var pendingRead = false
    private var writableWaiters: [EventLoopPromise<Void>] = []
    /// Counts exchanges, so a late `abandon` of a finished one cannot close the next one's.
    private var generation: UInt64 = 0

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Starts an exchange: the response head, or a failure, arrives through the returned future.
    func begin(deadline: NIODeadline?, on eventLoop: any EventLoop) -> EventLoopFuture<UpstreamResponse> {
        guard let context, context.channel.isActive else {
            return eventLoop.makeFailedFuture(UpstreamExchangeError.closedBeforeResponse)
        }
        generation += 1
        let promise = context.eventLoop.makePromise(of: UpstreamResponse.self)
        responseHead = promise
        requestSent = false
        responseReceived = false
        keepAlive = true
        if let deadline {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            timeout = context.eventLoop.scheduleTask(deadline: deadline) { bound.value.timedOut() }
        }
        return promise.futureResult
    }

    /// The request's last byte went out (or could not).
    func requestSent(_ result: Result<Void, any Error>) {
        if case .failure = result { keepAlive = false }
        requestSent = true
        exchangeMayBeComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // A 100 Continue (or 103) precedes the real answer and ends on its own.
            if head.status.code < 200 {
                informational = true
                return
            }
            timeout?.cancel()
            timeout = nil
            keepAlive = keepAlive && head.isKeepAlive
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            let pipe = BodyPipe { eventLoop.execute { bound.value.resumeReads() } }
            body = pipe
            let generation = self.generation
            let abandon: @Sendable () -> Void = { eventLoop.execute { bound.value.abandon(generation) } }
            responseHead?.succeed(UpstreamResponse(head: head, body: pipe, abandon: abandon))
            responseHead = nil
        case .body(let buffer):
            if let body, !body.push(buffer) { readsPaused = true }
        case .end:
            if informational {
                informational = false
                return
            }
            body?.finish()
            body = nil
            responseReceived = true
            exchangeMayBeComplete()
        }
    }

    private func exchangeMayBeComplete() {
        guard responseReceived, let context else { return }
        // An answer before the whole request went out leaves the connection mid-request.
        guard requestSent, keepAlive else {
            context.close(promise: nil)
            return
        }
        responseReceived = false
        requestSent = false
        resumeReads()
        onReusable?()
    }

    private func abandon(_ exchange: UInt64) {
        guard exchange == generation, body != nil || responseHead != nil else { return }
        fail(UpstreamExchangeError.closedBeforeResponse)
        context?.close(promise: nil)
    }

    private func resumeReads() {
        readsPaused = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            pendingRead = true
        } else {
            context.read()
        }
    }

    private func timedOut() {
        fail(UpstreamExchangeError.timedOut)
        context?.close(promise: nil)
    }

    private func fail(_ error: any Error) {
        timeout?.cancel()
        timeout = nil
        keepAlive = false
        responseHead?.fail(error)
        responseHead = nil
        body?.fail(error)
        body = nil
    }

    /// Succeeds once the channel (for a stream: its window and its connection) takes writes.
    func whenWritable(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard let context else { return eventLoop.makeFailedFuture(UpstreamExchangeError.closedBeforeResponse) }
        if context.channel.isWritable { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        writableWaiters.append(promise)
        return promise.futureResult
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            let waiters = writableWaiters
            writableWaiters.removeAll()
            for waiter in waiters { waiter.succeed() }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(UpstreamExchangeError.closedBeforeResponse)
        let waiters = writableWaiters
        writableWaiters.removeAll()
        for waiter in waiters { waiter.fail(UpstreamExchangeError.closedBeforeResponse) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }
}

extension EventLoop {
    /// Runs `body` on this loop: at once when already there (the usual case for an exchange
    /// task), else as a submitted task.
    func submitNow<T: Sendable>(_ body: @escaping @Sendable () -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        inEventLoop ? body() : flatSubmit(body)
    }
}
