import Foundation
import Synchronization

/// A bearer token held in a file (a mounted secret: trailing whitespace trimmed, re-read when the
/// file changes) or given as a value: the Banyan refresh token (`--banyan-refresh-token-file` or
/// `BANYAN_REFRESH_TOKEN`), a webhook kubeconfig's `token` or `tokenFile`.
final class TokenSource: Sendable {
    enum Origin: Sendable {
        case file(path: String)
        case value(String)
    }

    /// What reading the token gave.
    enum Reading: Equatable, Sendable {
        case token(String)
        /// No file, an unreadable one, or nothing but whitespace.
        case missing
        /// Characters a bearer token cannot hold (RFC 6750: visible ASCII only): a second line,
        /// a control character, a UTF-16 file. Sent, it would fail the HTTP client's header
        /// check, whose error repeats the header, token and all.
        case malformed
    }

    private struct FileState {
        var reading: Reading?
        var version: FileVersion?
    }

    /// What tells a changed file: a mounted secret is replaced through a symlink swap (a new
    /// inode), an edited file gets a new modification time or size.
    private struct FileVersion: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int

        /// From `stat(2)`, following symlinks; nil when the file cannot be read. Not Foundation's
        /// file attributes: they also look up the owner's user and group names, every time.
        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modifiedSeconds = Int(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        }
    }

    let origin: Origin
    private let state = Mutex(FileState())

    init(_ origin: Origin) {
        self.origin = origin
    }

    /// The token now, or nil when it is missing or malformed.
    func current() -> String? {
        if case .token(let token) = read() { token } else { nil }
    }

    /// The token now. Read at each exchange: exchanges are rare, and a rotated secret is picked
    /// up at the next one. A file that cannot be read keeps the token last read from it.
    func read() -> Reading {
        switch origin {
        case .value(let token):
            return Self.reading(token)
        case .file(let path):
            let version = FileVersion(path: path)
            return state.withLock { state in
                if state.reading == nil || version == nil || version != state.version {
                    if let data = FileManager.default.contents(atPath: path) {
                        state.reading = Self.reading(String(decoding: data, as: UTF8.self))
                        state.version = version
                    }
                }
                return state.reading ?? .missing
            }
        }
    }

    /// The whitespace around a token (the newline `echo` and editors leave, a byte-order mark) is
    /// not part of it; what is left must be visible ASCII.
    static func reading(_ text: String) -> Reading {
        var text = Substring(text)
        while let first = text.first, first.isWhitespace || first == "\u{FEFF}" { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        if text.isEmpty { return .missing }
        return text.utf8.allSatisfy { (0x21...0x7E).contains($0) } ? .token(String(text)) : .malformed
    }
}
