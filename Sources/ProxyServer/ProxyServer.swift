import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import ServiceLifecycle
import Synchronization

/// The TLS front door: HTTP/2 and HTTP/1.1 on one port (ALPN), every request handed to the
/// ``RequestChain``. On graceful shutdown it stops accepting, lets in-flight requests finish
/// for up to `drainTimeout`, then closes what is left.
public final class ProxyServer: Service, Sendable {
    let host: String
    let port: Int
    let certificate: ServingCertificate
    let chain: RequestChain
    let metrics: ProxyMetrics
    let logger: Logger
    let drainTimeout: Duration
    /// A connection that has not finished its TLS handshake this long after it opened is closed
    /// (32 s, as the Kubernetes API server's read-header timeout, which covers the handshake): a
    /// client that connects and sends nothing, or a byte a minute, would otherwise hold its
    /// descriptor forever, and enough of them, unauthenticated, exhaust the process's.
    let handshakeTimeout: Duration
    /// A connection with no request in progress this long is closed: between requests on
    /// HTTP/1.1, with no open stream on HTTP/2 (after a GOAWAY). 90 s, as the API server's
    /// `IdleTimeout`. (The first HTTP/1.1 request's head is due within `handshakeTimeout` of the
    /// handshake, as its read-header timeout.)
    let idleTimeout: Duration
    private let state = Mutex(ListeningState())
    private let connections = ConnectionTracker()

    private struct ListeningState {
        var port: Int?
        var waiters: [CheckedContinuation<Int, any Error>] = []
    }

    public init(
        host: String, port: Int, certificate: ServingCertificate, chain: RequestChain, metrics: ProxyMetrics,
        logger: Logger, drainTimeout: Duration = .seconds(30), handshakeTimeout: Duration = .seconds(32),
        idleTimeout: Duration = .seconds(90)
    ) {
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.host = host
        self.port = port
        self.certificate = certificate
        self.chain = chain
        self.metrics = metrics
        self.logger = logger
        self.drainTimeout = drainTimeout
    }

    /// The bound port while listening (useful with port 0): nil before, and again once a graceful
    /// shutdown stops accepting.
    public var listeningPort: Int? { state.withLock { $0.port } }

    public func run() async throws {
        let serverChannel: any Channel
        do {
            let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .childChannelOption(TCPKeepAlive.idle, value: TCPKeepAlive.seconds)
                .childChannelOption(TCPKeepAlive.interval, value: TCPKeepAlive.seconds)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.initialize(channel) }
                }
            serverChannel = try await ListenAddress.bind(bootstrap, host, port: port)
        } catch {
            throw ListenFailure.binding(error, flag: "secure-port", address: host, port: port)
        }
        let bound = serverChannel.localAddress?.port ?? port
        state.withLock { state in
            state.port = bound
            for waiter in state.waiters { waiter.resume(returning: bound) }
            state.waiters = []
        }
        logger.info("serving HTTPS", metadata: ["address": "\(host):\(bound)"])
        try? await gracefulShutdown()
        logger.info("no longer accepting connections; draining")
        // `/ready` fails from here: a load balancer that still probes takes the pod out while it
        // drains, rather than sending connections to a closed port.
        state.withLock { $0.port = nil }
        try? await serverChannel.close()
        await drain()
    }

    /// Closes idle HTTP/1.1 connections at once and busy ones when their last exchange ends,
    /// ends HTTP/2 connections with a GOAWAY (closed once their streams are done); whatever is
    /// still open after `drainTimeout` is closed.
    private func drain() async {
        connections.drain()
        let deadline = ContinuousClock.now + drainTimeout
        // (A cancelled task's sleeps return at once: it closes what is left rather than spin.)
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if connections.openConnections == 0 { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        logger.warning(
            "drain timeout: closing remaining connections", metadata: ["count": "\(connections.openConnections)"])
        connections.closeAll()
        // The exchanges cut off (a watch, an exec) record their last events as they end: waited
        // for, briefly, so those events reach the audit backends before the shippers flush and
        // the process exits.
        let recorded = ContinuousClock.now + .seconds(2)
        while connections.exchangesInFlight > 0, ContinuousClock.now < recorded, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the server listens and returns the port.
    public func waitUntilListening() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let port: Int? = state.withLock { state in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(duration / .nanoseconds(1)))
    }

    private func initialize(_ channel: any Channel) throws {
        connections.opened(channel)
        // The negotiation handler leaves the pipeline once the handshake is done.
        channel.eventLoop.assumeIsolated().scheduleTask(in: Self.timeAmount(handshakeTimeout)) {
            guard channel.isActive,
                (try? channel.pipeline.syncOperations.handler(type: ApplicationProtocolNegotiationHandler.self)) != nil
            else { return }
            channel.close(promise: nil)
        }
        let pipeline = channel.pipeline.syncOperations
        let guardHandler = PlaintextGuard(metrics: metrics, logger: logger)
        try pipeline.addHandler(guardHandler)
        try pipeline.addHandler(NIOSSLServerHandler(context: certificate.context))
        try pipeline.addHandler(
            ApplicationProtocolNegotiationHandler { [self] result, channel in
                channel.eventLoop.makeCompletedFuture {
                    switch result {
                    case .negotiated("h2"): try self.configureHTTP2(channel)
                    default: try self.configureHTTP1(channel)
                    }
                }
            })
        try pipeline.addHandler(
            TLSFailureCounter(
                metrics: metrics, logger: logger, plaintextGuard: guardHandler, eventLoop: channel.eventLoop))
    }

    private func configureHTTP1(_ channel: any Channel) throws {
        let pipeline = channel.pipeline.syncOperations
        let position = ChannelPipeline.SynchronousOperations.Position.before(
            try pipeline.handler(type: TLSFailureCounter.self))
        try pipeline.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), position: position)
        try pipeline.addHandler(HTTPResponseEncoder(), position: position)
        try pipeline.addHandler(
            ProxyExchangeHandler(
                chain: chain, kind: .http1, connections: connections,
                clientIP: ListenAddress.clientIP(of: channel.remoteAddress),
                waits: .init(firstHead: Self.timeAmount(handshakeTimeout), idle: Self.timeAmount(idleTimeout))),
            position: position)
    }

    /// swift-nio-http2's defaults but for the header list: 1 MiB, Go's and the API server's
    /// limit, where swift-nio-http2 advertises 16 KiB. An ID token with many groups or roles is
    /// tens of KiB, and kubectl refuses to send a request whose headers exceed the peer's limit.
    /// (swift-nio-http2 applies it once the client acknowledges these settings: a request sent
    /// in the connection's first flight is still held to 16 KiB, and it has no way to change that.)
    static let http2Connection: NIOHTTP2Handler.ConnectionConfiguration = {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 20),
        ]
        return configuration
    }()

    private func configureHTTP2(_ channel: any Channel) throws {
        let chain = self.chain
        let connections = self.connections
        let clientIP = ListenAddress.clientIP(of: channel.remoteAddress)
        let tail = try channel.pipeline.syncOperations.handler(type: TLSFailureCounter.self)
        // Ends the connection gracefully when the drain asks (`ChannelShouldQuiesceEvent`): a
        // GOAWAY, so the client opens no more streams here and knows which of its streams were
        // taken, then a close once those are done. A bare close could cut a request the client
        // had just sent, without its knowing whether it ran.
        let manager = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(
                maxIdleTime: Self.timeAmount(idleTimeout), maxAge: nil, maxGraceTime: nil, keepalive: nil))
        let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: Self.http2Connection, streamConfiguration: .init(),
            streamDelegate: manager.http2StreamDelegate, position: .before(tail)
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try stream.pipeline.syncOperations.addHandler(
                    ProxyExchangeHandler(chain: chain, kind: .http2, connections: connections, clientIP: clientIP))
            }
        }
        _ = multiplexer
        try channel.pipeline.syncOperations.addHandler(manager, position: .before(tail))
        connections.speaksHTTP2(channel)
        let idle = Self.timeAmount(idleTimeout)
        closeWhenIdle(channel, after: idle + min(idle, Self.idleGoAwayGrace))
    }

    /// The connection manager's idle GOAWAY starts only after a stream has closed (it is added
    /// once the connection is already active, and it starts its idle timer on `channelActive`),
    /// and it closes the connection only when the client answers its PING. So an HTTP/2
    /// connection that opened no stream, or a client that ignores PINGs, was held forever. This
    /// closes a connection with no exchange in flight for `limit`, checking once per `limit`.
    private func closeWhenIdle(_ channel: any Channel, after limit: TimeAmount) {
        let connections = self.connections
        channel.eventLoop.scheduleTask(in: limit) { [weak self] in
            guard channel.isActive else { return }
            if let since = connections.idleSince(channel), NIODeadline.now() - since >= limit {
                channel.close(promise: nil)
            } else {
                self?.closeWhenIdle(channel, after: limit)
            }
        }
    }

    /// How long past the idle timeout the manager's graceful GOAWAY gets before the close (at
    /// most the idle timeout itself).
    static let idleGoAwayGrace: TimeAmount = .seconds(10)
}

/// Sits in front of TLS: answers plain HTTP sent to the TLS port with a clear 400 (as Go's TLS
/// server does), and counts connections that close without sending a byte (TCP health checks)
/// without logging them as errors.
final class PlaintextGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let metrics: ProxyMetrics
    private let logger: Logger
    /// Whether the peer sent anything at all (read by ``TLSFailureCounter`` on the same loop).
    private(set) var sawBytes = false

    init(metrics: ProxyMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        sawBytes = true
        // A TLS record starts with content type 22 (handshake); an HTTP request with a method name.
        if let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first)
        {
            logger.debug(
                "plain HTTP on the TLS port", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            let message =
                "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: message))).whenComplete { _ in
                bound.value.close(promise: nil)
            }
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !sawBytes {
            metrics.bareConnectionClosed()
            logger.debug(
                "connection closed before TLS", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
        }
        context.fireChannelInactive()
    }
}

/// The last handler of a connection: counts TLS handshake failures and closes on errors.
final class TLSFailureCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any

    private let metrics: ProxyMetrics
    private let logger: Logger
    /// Only touched on the connection's event loop; a bare connect is a health check, not a
    /// failed handshake.
    private let plaintextGuard: NIOLoopBound<PlaintextGuard>

    init(metrics: ProxyMetrics, logger: Logger, plaintextGuard: PlaintextGuard, eventLoop: any EventLoop) {
        self.metrics = metrics
        self.logger = logger
        self.plaintextGuard = NIOLoopBound(plaintextGuard, eventLoop: eventLoop)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !plaintextGuard.value.sawBytes {
            context.close(promise: nil)
            return
        }
        if let error = error as? NIOSSLError, case .handshakeFailed = error {
            metrics.tlsHandshakeFailed()
            logger.debug("TLS handshake failed", metadata: ["error": "\(error)"])
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }
}
