import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP proxy on 127.0.0.1 that only tunnels (`CONNECT host:port`), as corporate egress
/// proxies do for HTTPS: it records each `CONNECT` request's target and headers, answers 200,
/// then copies bytes both ways until either side closes. Blocking sockets, a thread per
/// direction: a test tool, a few connections at a time.
public final class ConnectProxy: Sendable {
    public struct Tunnel: Sendable {
        public var target: String
        /// The `CONNECT` request's header lines, as sent.
        public var headerLines: [String]
    }

    public let port: Int
    private let listener: Int32
    private let state = Mutex<[Tunnel]>([])
    /// With it, a `CONNECT` without this `Proxy-Authorization` value gets a 407.
    private let requiredAuthorization: String?

    public init(requiredAuthorization: String? = nil) throws {
        self.requiredAuthorization = requiredAuthorization
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread { self.serve(client) }
            }
        }
    }

    /// Every tunnel asked for so far, in order.
    public var tunnels: [Tunnel] { state.withLock { $0 } }

    /// Stops accepting; tunnels already open run until their peers close.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve(_ client: Int32) {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), head.count < 16_384 {
            guard read(client, &byte, 1) == 1 else {
                close(client)
                return
            }
            head.append(byte)
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let requestLine = lines.first?.split(separator: " ") ?? []
        guard requestLine.count == 3, requestLine[0] == "CONNECT" else {
            reply(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            close(client)
            return
        }
        let target = String(requestLine[1])
        state.withLock { $0.append(Tunnel(target: target, headerLines: Array(lines.dropFirst()))) }
        if let requiredAuthorization,
            !lines.contains(where: { $0.lowercased() == "proxy-authorization: \(requiredAuthorization.lowercased())" })
        {
            reply(client, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            close(client)
            return
        }
        guard let colon = target.lastIndex(of: ":"), let port = UInt16(target[target.index(after: colon)...]) else {
            reply(client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            close(client)
            return
        }
        let host = String(target[..<colon])
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            reply(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            close(client)
            close(upstream)
            return
        }
        reply(client, "HTTP/1.1 200 Connection established\r\n\r\n")
        let done = Mutex(0)
        @Sendable func finish() {
            // The second direction to end closes both sockets.
            if done.withLock({ count in
                count += 1
                return count
            }) == 2 {
                close(client)
                close(upstream)
            }
        }
        Thread.detachNewThread {
            Self.copy(from: upstream, to: client)
            finish()
        }
        Self.copy(from: client, to: upstream)
        finish()
    }

    private func reply(_ socket: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
    }

    private static func copy(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + written, count - written) }
                if n <= 0 { break }
                written += n
            }
            if written < count { break }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}
