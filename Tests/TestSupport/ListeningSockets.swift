import Foundation

/// The TCP sockets a process listens on, read from `/proc` (Linux): its socket inodes from
/// `/proc/<pid>/fd`, their addresses from `/proc/net/tcp` and `/proc/net/tcp6`.
public enum ListeningSockets {
    public struct Socket: Sendable, Equatable, CustomStringConvertible {
        /// The local address as the kernel writes it: 8 hex digits (IPv4) or 32 (IPv6).
        public let address: String
        public let port: Int

        public var isLoopback: Bool {
            address == "0100007F" || address == "00000000000000000000000001000000"
                // IPv4-mapped 127.0.0.1 on an IPv6 socket
                || address == "0000000000000000FFFF00000100007F"
        }

        public var description: String { "\(address):\(port)" }
    }

    public static func of(pid: Int32) -> [Socket] {
        let fdDirectory = "/proc/\(pid)/fd"
        var inodes = Set<String>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(entry)"),
                target.hasPrefix("socket:[")
            {
                inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
            }
        }
        var sockets: [Socket] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: the kernel hands these files out a page per read, and a busy
            // machine's table is longer than one page.
            let data = FileHandle(forReadingAtPath: table)?.readDataToEndOfFile() ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
                let local = fields[1].split(separator: ":")
                guard local.count == 2, let port = Int(local[1], radix: 16) else { continue }
                sockets.append(Socket(address: String(local[0]), port: port))
            }
        }
        return sockets
    }
}
