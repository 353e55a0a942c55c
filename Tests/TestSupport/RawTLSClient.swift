import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A TLS connection that speaks bytes, not HTTP: for upgrade tunnels, where the test writes
/// the request itself and then talks the switched protocol.
public final class RawTLSClient: Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLock { $0.bytes += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            received.withLock { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    private let channel: any Channel
    private let collector: Collector

    public static func connect(
        port: Int, caFile: String, applicationProtocols: [String] = ["http/1.1"]
    ) async throws -> RawTLSClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        tls.applicationProtocols = applicationProtocols
        let context = try NIOSSLContext(configuration: tls)
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawTLSClient(channel: channel, collector: collector)
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Waits until what was received contains `marker`, returns it all and forgets it.
    public func receive(until marker: String, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = collector.received.withLock { state -> String? in
                let text = String(decoding: state.bytes, as: UTF8.self)
                guard text.contains(marker) else { return nil }
                state.bytes = []
                return text
            }
            if let text { return text }
            try await Task.sleep(for: .milliseconds(10))
        }
        return collector.received.withLock { String(decoding: $0.bytes, as: UTF8.self) }
    }

    public var isClosed: Bool { collector.received.withLock { $0.closed } }

    /// Closes the connection, unless the server already did.
    public func close() async throws {
        do {
            try await channel.close()
        } catch ChannelError.alreadyClosed {
        }
    }

    /// Closes the TCP connection at once, without TLS's close_notify (which waits for the
    /// peer's): as a client process that was killed, or pressed Ctrl-C, goes.
    public func closeAbruptly() async throws {
        let tls = try await channel.pipeline.handler(type: NIOSSLClientHandler.self).get()
        try await channel.pipeline.removeHandler(tls).get()
        try await channel.close()
    }
}
