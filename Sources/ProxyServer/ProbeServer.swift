import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Plain-HTTP probes on `--readiness-probe-port`: `/ready` (200 once the issuer's keys are
/// loaded and the secure port listens, 503 before), `/healthz`, and `/metrics`.
public final class ProbeServer: Service, Sendable {
    public typealias Readiness = @Sendable () -> Bool

    let host: String
    let port: Int
    let isReady: Readiness
    let metrics: @Sendable () -> [UInt8]
    let logger: Logger
    private let bound = Mutex<Int?>(nil)

    public init(
        host: String, port: Int, isReady: @escaping Readiness, metrics: @escaping @Sendable () -> [UInt8],
        logger: Logger
    ) {
        self.host = host
        self.port = port
        self.isReady = isReady
        self.metrics = metrics
        self.logger = logger
    }

    public var listeningPort: Int? { bound.withLock { $0 } }

    /// The longest a probe connection stays open.
    static let connectionLifetime: TimeAmount = .seconds(30)

    public func run() async throws {
        let isReady = self.isReady
        let metrics = self.metrics
        let channel: any Channel
        do {
            let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // A probe or a scrape takes milliseconds: a connection still open after
                        // this (a head trickled a byte at a time, or never sent) is closed.
                        let deadline = channel.eventLoop.scheduleTask(in: Self.connectionLifetime) {
                            channel.close(promise: nil)
                        }
                        channel.closeFuture.whenComplete { _ in deadline.cancel() }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(ProbeHandler(isReady: isReady, metrics: metrics))
                    }
                }
            channel = try await ListenAddress.bind(bootstrap, host, port: port)
        } catch {
            throw ListenFailure.binding(error, flag: "readiness-probe-port", address: host, port: port)
        }
        bound.withLock { $0 = channel.localAddress?.port }
        logger.info("serving probes", metadata: ["address": "\(host):\(channel.localAddress?.port ?? port)"])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

private final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let isReady: ProbeServer.Readiness
    let metrics: @Sendable () -> [UInt8]
    private var head: HTTPRequestHead?
    /// A response went out: the connection closes once it is sent; later requests are ignored.
    private var closing = false

    init(isReady: @escaping ProbeServer.Readiness, metrics: @escaping @Sendable () -> [UInt8]) {
        self.isReady = isReady
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head, !closing else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let (status, contentType, body): (HTTPResponseStatus, String, [UInt8])
            switch (head.method, path) {
            case (.GET, "/healthz"), (.GET, "/livez"):
                (status, contentType, body) = (.ok, "text/plain", Array("ok".utf8))
            case (.GET, "/ready"), (.GET, "/readyz"):
                (status, contentType, body) =
                    isReady()
                    ? (.ok, "text/plain", Array("ok".utf8))
                    : (
                        .serviceUnavailable, "text/plain",
                        Array("not ready: issuer keys not loaded or secure port not listening".utf8)
                    )
            case (.GET, "/metrics"):
                (status, contentType, body) = (.ok, "text/plain; version=0.0.4", metrics())
            default: (status, contentType, body) = (.notFound, "text/plain", Array("not found".utf8))
            }
            // One request per connection: NIO's pipelining helper reads the next request as soon
            // as a response is queued, not sent, so a client that pipelined `GET /metrics` and
            // never read would have the proxy queue exposition after exposition without bound.
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            headers.add(name: "Connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            let sent = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: sent)
            let channel = context.channel
            sent.futureResult.whenComplete { _ in channel.close(promise: nil) }
            closing = true
        }
    }
}
