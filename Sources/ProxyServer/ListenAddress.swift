import IPAddresses
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Where a listener binds, as Go's `net.Listen("tcp", …)` binds: the IPv4 wildcard `0.0.0.0`
/// (the default `--bind-address`) listens on IPv6 too where the host has it, so an IPv6-only
/// cluster reaches the pod (the Go proxy's behaviour; NIO would bind IPv4 alone). IPv4 clients
/// then arrive as IPv4-mapped IPv6 addresses, which ``clientIP(of:)`` prints dotted again.
enum ListenAddress {
    /// The host to bind for `bindAddress`.
    static func socketHost(for bindAddress: String) -> String {
        bindAddress == "0.0.0.0" && hasIPv6 ? "::" : bindAddress
    }

    /// Binds `bootstrap` for `bindAddress`: dual-stack for the IPv4 wildcard, falling back to
    /// IPv4 alone where the host refuses `::` (IPv6 switched off in the pod's network).
    static func bind(_ bootstrap: ServerBootstrap, _ bindAddress: String, port: Int) async throws -> any Channel {
        let preferred = socketHost(for: bindAddress)
        do {
            return try await bootstrap.bind(host: preferred, port: port).get()
        } catch  where preferred != bindAddress {
            return try await bootstrap.bind(host: bindAddress, port: port).get()
        }
    }

    /// Whether an IPv6 socket can be made here (a kernel without IPv6, or with it disabled,
    /// refuses).
    static let hasIPv6: Bool = {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }()

    /// A peer's IP as Go prints it (`net.IP.String`): an IPv4 client of a dual-stack listener
    /// dotted, not `::ffff:a.b.c.d`, for the `Remote-Client-Ip` extra and the audit's source.
    static func clientIP(of address: SocketAddress?) -> String? {
        guard let text = address?.ipAddress else { return nil }
        return IPAddress(text)?.description ?? text
    }
}

/// A listener could not bind: the port is taken, or the address is not this host's. Names
/// the flag that chose the port, so the proxy's one line at exit says what to change.
public struct ListenFailure: Error, CustomStringConvertible {
    public let flag: String
    public let address: String
    public let port: Int
    public let reason: String

    public var description: String { "--\(flag): cannot listen on \(address):\(port): \(reason)" }

    /// `error` from binding, in words: the system's for an `IOError` (`Address already in use`).
    static func binding(_ error: any Error, flag: String, address: String, port: Int) -> ListenFailure {
        let reason: String
        if let error = error as? IOError {
            reason = String(cString: strerror(error.errnoCode))
        } else {
            reason = "\(error)"
        }
        return ListenFailure(flag: flag, address: address, port: port, reason: reason)
    }
}

/// TCP keep-alive as Go sets it on the connections it accepts and dials (15 s idle, then a
/// probe every 15 s): a peer that vanished (a node lost, a laptop asleep) is noticed within
/// minutes rather than the kernel's two hours, and its watch or exec session let go.
enum TCPKeepAlive {
    static let seconds: SocketOptionValue = 15
    static let idle = ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: TCP_KEEPIDLE))
    static let interval = ChannelOptions.Types.SocketOption(
        level: .tcp, name: NIOBSDSocket.Option(rawValue: TCP_KEEPINTVL))
}
