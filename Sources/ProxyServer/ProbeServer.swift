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

    public func run() async throws {
        let isReady = self.isReady
        let metrics = self.metrics
        let channel: any Channel
        do {
            let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
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

    init(isReady: @escaping ProbeServer.Readiness, metrics: @escaping @Sendable () -> [UInt8]) {
        self.isReady = isReady
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
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
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
