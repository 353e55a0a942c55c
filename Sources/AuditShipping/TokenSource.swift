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

    private struct FileState {
        var token: String?
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

    /// The token now, or nil when the file cannot be read or is empty. Read at each exchange:
    /// exchanges are rare, and a rotated secret is picked up at the next one.
    func current() -> String? {
        switch origin {
        case .value(let token):
            return Self.trimmed(token)
        case .file(let path):
            let version = FileVersion(path: path)
            return state.withLock { state in
                if state.token == nil || version == nil || version != state.version {
                    if let data = FileManager.default.contents(atPath: path) {
                        state.token = Self.trimmed(String(decoding: data, as: UTF8.self))
                        state.version = version
                    }
                }
                return state.token
            }
        }
    }

    /// Trailing whitespace (the newline `echo` and editors leave) is not part of the token.
    static func trimmed(_ text: String) -> String? {
        var text = Substring(text)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text.isEmpty ? nil : String(text)
    }
}
