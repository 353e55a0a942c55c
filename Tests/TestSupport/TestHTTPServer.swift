import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// A request as a test server received it.
public struct RecordedRequest: Sendable {
    public let method: String
    public let uri: String
    public let headers: [(String, String)]
    /// The body, kept up to 1 MiB (``bodyLength`` counts all of it).
    public let body: [UInt8]
    public var bodyLength: Int = 0
    /// `HTTP/1.1` or `HTTP/2.0`.
    public var version: String = "HTTP/1.1"
    /// Whether the client presented a TLS client certificate (which the server asks for, as the
    /// API server does, without requiring one).
    public var presentedClientCertificate = false

    public var path: Substring { uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

public struct CannedResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// When set, the body is sent chunk by chunk as the stream yields, and ends when it finishes.
    public var stream: AsyncStream<[UInt8]>?
    /// Never answer (for timeouts).
    public var silent = false
    /// Announce twice the body's length, send the body, then close the connection: a server
    /// that dies mid-response.
    public var closesMidBody = false

    public static func streaming(_ stream: AsyncStream<[UInt8]>, headers: [(String, String)] = []) -> CannedResponse {
        var response = CannedResponse(status: 200, headers: headers)
        response.stream = stream
        return response
    }

    public init(status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ text: String, status: Int = 200, headers: [(String, String)] = []) -> CannedResponse {
        CannedResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 (TLS when given a certificate), answering each request
/// with whatever the test's responder returns. Shared by the fake issuer and the other fakes.
public final class TestHTTPServer: Sendable {
    public typealias Responder = @Sendable (RecordedRequest) -> CannedResponse

    private let channel: any Channel
    public let port: Int
    public let isTLS: Bool

    public static func start(
        tls: (certificatePEM: String, keyPEM: String)?, upgrades: EchoUpgrades? = nil, http2: Bool = false,
        clientCertificateCA: String? = nil, responder: @escaping Responder
    ) async throws -> TestHTTPServer {
        var sslContext: NIOSSLContext?
        if let tls {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(tls.certificatePEM.utf8)).map {
                    .certificate($0)
                },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(tls.keyPEM.utf8), format: .pem)))
            // Like the API server: HTTP/2 for ordinary requests when the client offers it.
            if http2 { configuration.applicationProtocols = ["h2", "http/1.1"] }
            // Asks for a client certificate signed by `clientCertificateCA`, as the API server
            // does, and takes a request without one.
            if let clientCertificateCA {
                configuration.certificateVerification = .optionalVerification
                configuration.trustRoots = .certificates(
                    try NIOSSLCertificate.fromPEMBytes(Array(clientCertificateCA.utf8)))
            }
            sslContext = try NIOSSLContext(configuration: configuration)
        }
        let context = sslContext
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    if http2 {
                        try channel.pipeline.syncOperations.addHandler(
                            ApplicationProtocolNegotiationHandler { result, channel in
                                channel.eventLoop.makeCompletedFuture {
                                    if case .negotiated("h2") = result {
                                        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                                            mode: .server, connectionConfiguration: .init(),
                                            streamConfiguration: .init()
                                        ) { stream in
                                            stream.eventLoop.makeCompletedFuture {
                                                try stream.pipeline.syncOperations.addHandler(
                                                    HTTP2FramePayloadToHTTP1ServerCodec())
                                                try stream.pipeline.syncOperations.addHandler(
                                                    RespondingHandler(responder: responder))
                                            }
                                        }
                                    } else {
                                        try Self.configureHTTP1(channel, upgrades: upgrades, responder: responder)
                                    }
                                }
                            })
                        return
                    }
                    try Self.configureHTTP1(channel, upgrades: upgrades, responder: responder)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestHTTPServer(channel: channel, isTLS: tls != nil)
    }

    private static func configureHTTP1(_ channel: any Channel, upgrades: EchoUpgrades?, responder: @escaping Responder)
        throws
    {
        if let upgrades {
            let upgraders: [any HTTPServerProtocolUpgrader & Sendable] = upgrades.protocols.map {
                EchoUpgrader(supportedProtocol: $0, upgrades: upgrades)
            }
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withServerUpgrade: (upgraders: upgraders, completionHandler: { _ in }))
        } else {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
        }
        try channel.pipeline.syncOperations.addHandler(RespondingHandler(responder: responder))
    }

    private init(channel: any Channel, isTLS: Bool) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.isTLS = isTLS
    }

    public var baseURL: String { "\(isTLS ? "https" : "http")://127.0.0.1:\(port)" }

    public func stop() async throws {
        try await channel.close()
    }
}

private final class RespondingHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Whether the TLS peer of `channel` (or of its connection, for an HTTP/2 stream) presented
    /// a certificate.
    static func peerPresentedCertificate(_ channel: any Channel) -> Bool {
        // A stream's connection shares its event loop; an HTTP/1 connection's parent, the
        // listening channel, may not (and holds no TLS handler).
        for candidate in [channel, channel.parent].compactMap({ $0 }) where candidate.eventLoop.inEventLoop {
            if let tls = try? candidate.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
                return tls.peerCertificate != nil
            }
        }
        return false
    }

    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: TestHTTPServer.Responder
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyLength = 0

    init(responder: @escaping TestHTTPServer.Responder) {
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            bodyLength = 0
        case .body(var buffer):
            bodyLength += buffer.readableBytes
            if body.count < 1 << 20 { body += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        case .end:
            guard let head else { return }
            var request = RecordedRequest(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                body: body)
            request.bodyLength = bodyLength
            request.version = "\(head.version)"
            request.presentedClientCertificate = Self.peerPresentedCertificate(context.channel)
            let response = responder(request)
            var headers = HTTPHeaders(response.headers)
            if response.silent {
                self.head = nil
                return
            }
            if let stream = response.stream {
                let responseHead = HTTPResponseHead(
                    version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
                context.writeAndFlush(wrapOutboundOut(.head(responseHead)), promise: nil)
                self.head = nil
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let eventLoop = context.eventLoop
                // The stream's consumer goes when the connection does, as a real server's watch would.
                let task = Task {
                    for await chunk in stream {
                        eventLoop.execute {
                            bound.value.writeAndFlush(
                                NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: chunk)))), promise: nil
                            )
                        }
                    }
                    eventLoop.execute {
                        bound.value.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
                    }
                }
                context.channel.closeFuture.whenComplete { _ in task.cancel() }
                return
            }
            let closesMidBody = response.closesMidBody
            headers.replaceOrAdd(
                name: "Content-Length", value: String(response.body.count * (closesMidBody ? 2 : 1)))
            let responseHead = HTTPResponseHead(
                version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            // Answered on the next loop tick, as a server that does any work would: written from
            // inside channelRead, concurrent HTTP/2 streams' responses were not all flushed.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let body = response.body
            context.eventLoop.execute {
                let context = bound.value
                context.write(NIOAny(HTTPServerResponsePart.head(responseHead)), promise: nil)
                if closesMidBody {
                    let close = context.writeAndFlush(
                        NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body)))))
                    close.whenComplete { _ in bound.value.close(promise: nil) }
                    return
                }
                context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            }
            self.head = nil
        }
    }
}

/// Upgrades a test server accepts: after its `101`, the connection echoes every byte back.
public final class EchoUpgrades: Sendable {
    public let protocols: [String]
    private let state = Mutex<(requests: [RecordedRequest], open: Int)>(([], 0))
    private let channels = Mutex<[any Channel]>([])

    public init(protocols: [String]) {
        self.protocols = protocols
    }

    public var requests: [RecordedRequest] { state.withLock { $0.requests } }
    /// Echo connections still open.
    public var openTunnels: Int { state.withLock { $0.open } }

    func record(_ head: HTTPRequestHead) {
        let request = RecordedRequest(
            method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: [])
        state.withLock { $0.requests.append(request) }
    }

    func opened(_ channel: any Channel) {
        state.withLock { $0.open += 1 }
        channels.withLock { $0.append(channel) }
    }

    /// Closes every echo tunnel from the server's side.
    public func closeTunnels() {
        for channel in channels.withLock({ $0 }) { channel.close(promise: nil) }
    }
    func closed() { state.withLock { $0.open -= 1 } }
}

private final class EchoUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let supportedProtocol: String
    let requiredUpgradeHeaders: [String] = []
    let upgrades: EchoUpgrades

    init(supportedProtocol: String, upgrades: EchoUpgrades) {
        self.supportedProtocol = supportedProtocol
        self.upgrades = upgrades
    }

    func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        upgrades.record(upgradeRequest)
        var headers = initialResponseHeaders
        headers.add(name: "X-Stream-Protocol-Version", value: "v4.channel.k8s.io")
        return channel.eventLoop.makeSucceededFuture(headers)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        upgrades.opened(context.channel)
        let upgrades = self.upgrades
        context.channel.closeFuture.whenComplete { _ in upgrades.closed() }
        return context.eventLoop.makeCompletedFuture {
            // The request/response handler stays behind the upgrade; bytes must not reach it.
            let pipeline = context.pipeline.syncOperations
            _ = pipeline.removeHandler(try pipeline.handler(type: RespondingHandler.self))
            try pipeline.addHandler(EchoHandler())
        }
    }
}

private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}
