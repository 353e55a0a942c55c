import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `--audit-log-path`: one JSON event per line, to a file (rotated by size, pruned by count and
/// age, as the API server's lumberjack-backed log is) or to standard output for `-`.
///
/// As lumberjack v2 with local time off: a write that would take the file past the size limit first
/// renames it to `<stem>-<UTC time as 2006-01-02T15-04-05.000><ext>` beside it (`AuditLogBackups`),
/// and old backups are pruned when the log opens and after each rotation. The fresh file takes
/// the old one's mode and owner, so a log shipper given read access keeps it. With `compress`
/// (`--audit-log-compress`) backups are gzipped in the background to `<backup>.gz`, which takes
/// the backup's mode and owner, and the backup is removed once its copy is on disk.
public final class AuditLogFile: Sendable {
    public struct Rotation: Sendable, Equatable {
        /// Megabytes (MiB) before the file is rotated; 0 means lumberjack's default, 100.
        public var maxSizeMegabytes: Int
        /// Rotated files kept; 0 means all.
        public var maxBackups: Int
        /// Days a rotated file is kept; 0 means forever.
        public var maxAgeDays: Int
        /// Rotated files are gzipped.
        public var compress: Bool

        public init(maxSizeMegabytes: Int = 0, maxBackups: Int = 0, maxAgeDays: Int = 0, compress: Bool = false) {
            self.maxSizeMegabytes = maxSizeMegabytes
            self.maxBackups = maxBackups
            self.maxAgeDays = maxAgeDays
            self.compress = compress
        }

        /// The size a write may not take the file past (saturating: a size past what a file
        /// can hold never rotates).
        var maxBytes: Int {
            let (bytes, overflow) = (maxSizeMegabytes == 0 ? 100 : maxSizeMegabytes).multipliedReportingOverflow(
                by: 1024 * 1024)
            return overflow ? .max : bytes
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
    /// `--audit-log-truncate-enabled`: events over the size limit lose their objects, or, still
    /// too large, are left out (and reported as a failure), as the API server's log truncates.
    public let truncation: AuditTruncation?
    private let backups: AuditLogBackups
    private let state: Mutex<State>
    /// Where backups are compressed, one at a time, off the appending thread.
    private let compressor = DispatchQueue(label: "audit-log-compress")
    /// Told why a backup could not be compressed (it is then kept as it is).
    private let compressionFailed: @Sendable (String) -> Void

    /// `compressionFailed` hears of a backup left uncompressed, and why.
    public init(
        path: String, rotation: Rotation = Rotation(), truncation: AuditTruncation? = nil,
        compressionFailed: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        self.path = path
        self.rotation = rotation
        self.truncation = truncation
        self.compressionFailed = compressionFailed
        backups = AuditLogBackups(logPath: path)
        if path == "-" {
            state = Mutex(State(descriptor: STDOUT_FILENO, size: 0))
        } else {
            state = Mutex(try Self.open(path, mode: 0o600))
            maintainBackups()
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
            if path != "-", state.size > 0, state.size + lines.count > rotation.maxBytes {
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

    /// Opens `path` for appending; a file it creates gets `mode` and, when given, `owner`.
    private static func open(_ path: String, mode: mode_t, owner: (uid_t, gid_t)? = nil) throws -> State {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot open audit log \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
        if size == 0, let owner {
            // Exactly the old file's, whatever the umask; an owner we may not give stays ours.
            _ = fchmod(descriptor, mode)
            _ = fchown(descriptor, owner.0, owner.1)
        }
        return State(descriptor: descriptor, size: size)
    }

    /// `audit.log` becomes `audit-2026-11-25T17-00-00.123.log` and a fresh `audit.log` starts, with
    /// the old one's mode and owner. A log removed behind our back is not renamed: the fresh one
    /// simply starts.
    private func rotate(_ state: inout State) throws {
        var status = stat()
        let kept =
            fstat(state.descriptor, &status) == 0 ? (status.st_mode & 0o7777, (status.st_uid, status.st_gid)) : nil
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let backup = backups.directory + "/" + backups.name(atMilliseconds: milliseconds)
        if Glibc.rename(path, backup) != 0 && errno != ENOENT {
            throw Failure(
                description: "audit log \(path): cannot rename it to \(backup): \(String(cString: strerror(errno)))")
        }
        let fresh = try Self.open(path, mode: kept?.0 ?? 0o600, owner: kept?.1)
        close(state.descriptor)
        state = fresh
        maintainBackups()
    }

    /// After opening and after each rotation: prunes, then (with `compress`) gzips the backups
    /// left uncompressed, in the background.
    private func maintainBackups() {
        pruneBackups()
        guard rotation.compress else { return }
        compressor.async { [backups, compressionFailed] in
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: backups.directory) else { return }
            for name in names.sorted() where backups.backupTime(of: name) != nil && !name.hasSuffix(".gz") {
                let source = backups.directory + "/" + name
                var status = stat()
                guard lstat(source, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
                do {
                    try GzipFile.compress(source, to: source + ".gz")
                } catch {
                    compressionFailed("audit log backup \(source) left uncompressed: \(error)")
                }
            }
        }
    }

    /// Waits until the backups queued for compression are done (for tests).
    func waitForCompression() {
        compressor.sync {}
    }

    /// Deletes the backups past `--audit-log-maxbackup` or older than `--audit-log-maxage`, judged
    /// by the time in their names; anything else in the directory is left alone.
    private func pruneBackups() {
        guard rotation.maxBackups > 0 || rotation.maxAgeDays > 0,
            let names = try? FileManager.default.contentsOfDirectory(atPath: backups.directory)
        else { return }
        let files = names.filter { name in
            var status = stat()
            return lstat(backups.directory + "/" + name, &status) == 0 && (status.st_mode & S_IFMT) != S_IFDIR
        }
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let expired = backups.expired(
            among: files, nowMilliseconds: now, maxBackups: rotation.maxBackups, maxAgeDays: rotation.maxAgeDays)
        for name in expired {
            _ = unlink(backups.directory + "/" + name)
        }
    }
}
