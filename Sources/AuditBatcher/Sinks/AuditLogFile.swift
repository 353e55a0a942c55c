import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `--audit-log-path`: one JSON event per line, to a file (rotated by size, pruned by count and
/// age, as the API server's lumberjack-backed log is) or to standard output for `-`.
public final class AuditLogFile: Sendable {
    public struct Rotation: Sendable, Equatable {
        /// Megabytes before the file is rotated; 0 means never.
        public var maxSizeMegabytes: Int
        /// Rotated files kept; 0 means all.
        public var maxBackups: Int
        /// Days a rotated file is kept; 0 means forever.
        public var maxAgeDays: Int

        public init(maxSizeMegabytes: Int = 0, maxBackups: Int = 0, maxAgeDays: Int = 0) {
            self.maxSizeMegabytes = maxSizeMegabytes
            self.maxBackups = maxBackups
            self.maxAgeDays = maxAgeDays
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private struct State {
        var descriptor: Int32
        var size: Int
    }

    public let path: String
    public let rotation: Rotation
    private let state: Mutex<State>

    public init(path: String, rotation: Rotation = Rotation()) throws {
        self.path = path
        self.rotation = rotation
        if path == "-" {
            state = Mutex(State(descriptor: STDOUT_FILENO, size: 0))
        } else {
            state = Mutex(try Self.open(path))
        }
    }

    deinit {
        let descriptor = state.withLock { $0.descriptor }
        if descriptor != STDOUT_FILENO { close(descriptor) }
    }

    /// Appends one event (its JSON, without the newline). One write per line, so concurrent
    /// writers and readers of the file never see half a line.
    public func append(_ json: [UInt8]) throws {
        try append(contentsOf: CollectionOfOne(json))
    }

    /// Appends the events of one exchange as lines with a single write (one syscall per
    /// request, not per event); a reader never sees half a line.
    public func append<Event: Collection<UInt8>>(contentsOf events: some Collection<Event>) throws {
        var lines: [UInt8] = []
        lines.reserveCapacity(events.reduce(0) { $0 + $1.count + 1 })
        for json in events {
            lines.append(contentsOf: json)
            lines.append(UInt8(ascii: "\n"))
        }
        guard !lines.isEmpty else { return }
        try state.withLock { state in
            let limit = rotation.maxSizeMegabytes * 1024 * 1024
            if path != "-", limit > 0, state.size > 0, state.size + lines.count > limit {
                try rotate(&state)
            }
            var written = 0
            while written < lines.count {
                let result = lines.withUnsafeBytes {
                    write(state.descriptor, $0.baseAddress! + written, lines.count - written)
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw Failure(description: "audit log \(path): \(String(cString: strerror(errno)))")
                }
                written += result
            }
            state.size += lines.count
        }
    }

    private static func open(_ path: String) throws -> State {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot open audit log \(path): \(String(cString: strerror(errno)))")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return State(descriptor: descriptor, size: size)
    }

    /// `audit.log` becomes `audit-2026-11-25T17-00-00.123.log` and a fresh `audit.log` starts.
    private func rotate(_ state: inout State) throws {
        close(state.descriptor)
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let ext = url.pathExtension.isEmpty ? "" : "." + url.pathExtension
        let stamp = Date().formatted(
            .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true)
                .timeSeparator(.omitted))
        let backup = url.deletingLastPathComponent().appendingPathComponent("\(stem)-\(stamp)\(ext)").path
        _ = Glibc.rename(path, backup)
        state = try Self.open(path)
        pruneBackups(stem: stem, ext: ext, directory: url.deletingLastPathComponent().path)
    }

    private func pruneBackups(stem: String, ext: String, directory: String) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return }
        let backups = names.filter { $0.hasPrefix(stem + "-") && $0.hasSuffix(ext) }.sorted(by: >)
        let cutoff = Date().addingTimeInterval(-Double(rotation.maxAgeDays) * 86400)
        for (index, name) in backups.enumerated() {
            let file = directory + "/" + name
            let tooMany = rotation.maxBackups > 0 && index >= rotation.maxBackups
            let modified = (try? manager.attributesOfItem(atPath: file)[.modificationDate]) as? Date
            let tooOld = rotation.maxAgeDays > 0 && (modified ?? Date()) < cutoff
            if tooMany || tooOld { try? manager.removeItem(atPath: file) }
        }
    }
}
