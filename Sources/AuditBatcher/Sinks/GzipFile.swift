import CZlib

#if canImport(Glibc)
    import Glibc
#endif

/// Gzips one file beside itself, as lumberjack compresses a rotated log: the copy takes the
/// original's mode and owner, and the original is removed only once the copy is synced to disk.
/// A failure removes the partial copy and keeps the original.
enum GzipFile {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func compress(_ source: String, to destination: String) throws {
        func failure(_ what: String) -> Failure {
            Failure(description: "\(what): \(String(cString: strerror(errno)))")
        }
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("cannot open \(source)") }
        defer { close(input) }
        var status = stat()
        guard fstat(input, &status) == 0 else { throw failure("cannot read \(source)") }
        let mode = status.st_mode & 0o7777
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard output >= 0 else { throw failure("cannot create \(destination)") }
        _ = fchmod(output, mode)
        _ = fchown(output, status.st_uid, status.st_gid)
        // zlib owns `output` from here (gzclose closes it); a second descriptor syncs the file
        // once zlib has written its end.
        let syncing = dup(output)
        defer { if syncing >= 0 { close(syncing) } }
        guard syncing >= 0, let gzip = gzdopen(output, "wb") else {
            close(output)
            unlink(destination)
            throw Failure(description: "cannot start gzip for \(destination)")
        }
        var failed: Failure?
        let chunk = 256 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while failed == nil {
            let count = read(input, buffer, chunk)
            if count < 0 {
                if errno == EINTR { continue }
                failed = failure("cannot read \(source)")
            } else if count == 0 {
                break
            } else if gzwrite(gzip, buffer, UInt32(count)) != Int32(count) {
                failed = failure("cannot write \(destination)")
            }
        }
        if gzclose(gzip) != Z_OK, failed == nil { failed = failure("cannot write \(destination)") }
        if failed == nil, fsync(syncing) != 0 { failed = failure("cannot sync \(destination)") }
        if let failed {
            unlink(destination)
            throw failed
        }
        guard unlink(source) == 0 || errno == ENOENT else { throw failure("cannot remove \(source)") }
    }
}
