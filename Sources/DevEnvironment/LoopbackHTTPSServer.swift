import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// An HTTPS/1.1 server on 127.0.0.1 for the development issuer and the stand-in API server:
/// each request is read whole and answered by a pure responder. Bound by ``start``, so its port
/// is known before anything that needs it is configured; as a service it runs until the group
/// shuts down, then closes.
public final class LoopbackHTTPSServer: Service, Sendable {
    public typealias Responder = @Sendable (LoopbackRequest) -> LoopbackResponse

    /// Bodies the development servers accept; nothing they serve needs more.
    static let maximumBodySize = 1 << 20

    private let channel: any Channel
    public let port: Int
    private let name: String
    private let logger: Logger

    /// Binds `127.0.0.1:port` (0 picks a free port) with the given PEM certificate and key.
    public static func start(
        name: String, port: Int, certificatePEM: String, keyPEM: String, logger: Logger,
        responder: @escaping Responder
    ) async throws -> LoopbackHTTPSServer {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let serverURL = "https://127.0.0.1:\(channel.localAddress?.port ?? 0)"
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        ExchangeHandler(serverURL: serverURL, responder: responder))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        let server = LoopbackHTTPSServer(
            channel: channel, port: channel.localAddress?.port ?? port, name: name, logger: logger)
        logger.info("serving \(name)", metadata: ["address": "127.0.0.1:\(server.port)"])
        return server
    }

    private init(channel: any Channel, port: Int, name: String, logger: Logger) {
        self.channel = channel
        self.port = port
        self.name = name
        self.logger = logger
    }

    public var url: String { "https://127.0.0.1:\(port)" }

    /// Serves until the service group shuts down gracefully (or the task is cancelled), then closes.
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }

    public func stop() async {
        try? await channel.close()
        logger.debug("stopped \(name)")
    }
}

/// Collects one request at a time and writes the responder's answer.
private final class ExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let serverURL: String
    private let responder: LoopbackHTTPSServer.Responder
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(serverURL: String, responder: @escaping LoopbackHTTPSServer.Responder) {
        self.serverURL = serverURL
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            tooLarge = false
        case .body(var buffer):
            if body.count + buffer.readableBytes > LoopbackHTTPSServer.maximumBodySize {
                tooLarge = true
            } else {
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let response =
                tooLarge
                ? LoopbackResponse(status: 413, contentType: "text/plain", body: Array("request body too large".utf8))
                : responder(
                    LoopbackRequest(
                        method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                        body: body, serverURL: serverURL))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: String(response.body.count))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            let responseHead = HTTPResponseHead(
                version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
