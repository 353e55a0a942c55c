import Impersonation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `Connection: Upgrade` requests (`kubectl exec`, `attach`, `port-forward`, `cp`: SPDY/3.1 or
/// WebSocket): the authenticated, impersonated request goes to the API server on a connection
/// of its own; once the API server answers `101 Switching Protocols`, the two connections are
/// glued and bytes are copied both ways until either side closes.
struct UpgradeTunnel {
    let upstream: UpstreamClient
    /// Whether the request goes on as the proxy, impersonating, or with the user's credentials:
    /// then on a connection without the proxy's client certificate.
    let mode: ForwardingMode
    let logger: Logger

    enum Outcome {
        /// The API server switched protocols and the tunnel ran until it closed.
        case tunnelled
        /// The API server answered without switching: its response, to pass on as is.
        case answered(HTTPResponseHead, ByteBuffer)
    }

    /// `started` is called once the client has the `101`, before the tunnel runs (for audit).
    func run(
        _ request: ProxyRequest, headers: HTTPHeaders, writer: ClientResponseWriter, started: (Int) async -> Void
    ) async throws -> Outcome {
        let eventLoop = writer.eventLoop
        // Where and as what every other request goes: an IPv6 API server's `Host` in brackets.
        let endpoint = upstream.pool(for: mode).endpoint
        let responsePromise = eventLoop.makePromise(of: UpstreamUpgradeHandler.Response.self)
        let sslContext = upstream.tunnelTLSContext(for: mode)
        let serverHostname = endpoint.serverHostname
        // The same event loop as the client's connection, so the glue needs no locks.
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(TCPKeepAlive.idle, value: TCPKeepAlive.seconds)
            .channelOption(TCPKeepAlive.interval, value: TCPKeepAlive.seconds)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        try pipeline.addHandler(
                            try NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                    }
                    try pipeline.addHandler(HTTPRequestEncoder())
                    try pipeline.addHandler(
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try pipeline.addHandler(UpstreamUpgradeHandler(promise: responsePromise))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()

        var head = HTTPRequestHead(version: .http1_1, method: request.head.method, uri: upstreamURI(request.head.uri))
        head.headers = headers
        head.headers.replaceOrAdd(name: "Host", value: endpoint.hostHeader)
        // A client that leaves while the API server decides must not leave the upstream request
        // open (an exec the API server then starts, with nobody at the other end).
        let response = try await withTaskCancellationHandler {
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
            return try await responsePromise.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }

        guard response.head.status == .switchingProtocols else {
            try? await channel.close()
            return .answered(response.head, response.body)
        }
        var clientHead = HTTPResponseHead(version: request.head.version, status: .switchingProtocols)
        clientHead.headers = response.head.headers
        do {
            try await writer.switchToTunnel(clientHead, upstream: channel)
        } catch {
            // The client's connection is gone: so must the upstream one be, or the session the
            // API server opened stays up until it times out.
            try? await channel.close()
            throw error
        }
        await started(101)
        try? await channel.closeFuture.get()
        return .tunnelled
    }

    private func upstreamURI(_ uri: String) -> String {
        upstream.pool(for: mode).endpoint.pathPrefix + uri
    }
}

/// Reads the API server's answer to an upgrade request: the head, and for anything but a 101,
/// the (bounded) body.
final class UpstreamUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Response: Sendable {
        var head: HTTPResponseHead
        var body: ByteBuffer
    }

    private let promise: EventLoopPromise<Response>
    private var response: Response?

    init(promise: EventLoopPromise<Response>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response = Response(head: head, body: ByteBuffer())
            // After a 101 the next bytes are the new protocol's: hand over now.
            if head.status == .switchingProtocols { promise.succeed(response!) }
        case .body(var buffer):
            if (response?.body.readableBytes ?? 0) < 1 << 20 { response?.body.writeBuffer(&buffer) }
        case .end:
            if let response, response.head.status != .switchingProtocols { promise.succeed(response) }
        }
    }

    struct ClosedBeforeAnswer: Error, CustomStringConvertible {
        var description: String { "the API server closed the connection before answering the upgrade" }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ClosedBeforeAnswer())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

/// One end of a tunnel: what it reads goes to its partner's channel. Both ends live on the same
/// event loop. When one side closes, the other is closed after its pending bytes are flushed.
final class TunnelGlue: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelGlue?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (TunnelGlue, TunnelGlue) {
        let first = TunnelGlue()
        let second = TunnelGlue()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerCloseWhenFlushed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A peer that half-closes its sending side: pass the half-close on.
        if case ChannelEvent.inputClosed = event {
            partner?.partnerCloseOutput()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    // Back-pressure: a side whose partner cannot take more stops reading.
    func read(context: ChannelHandlerContext) {
        if let partner, let partnerContext = partner.context, !partnerContext.channel.isWritable {
            pendingRead = true
            return
        }
        context.read()
    }

    private func partnerWrite(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerCloseWhenFlushed() {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }

    private func partnerCloseOutput() {
        context?.close(mode: .output, promise: nil)
    }

    private func partnerBecameWritable() {
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }
}
