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
        var modified: Date?
        var size: UInt64?
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
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let modified = attributes?[.modificationDate] as? Date
            let size = (attributes?[.size] as? NSNumber)?.uint64Value
            return state.withLock { state in
                if state.token == nil || modified != state.modified || size != state.size {
                    if let data = FileManager.default.contents(atPath: path) {
                        state.token = Self.trimmed(String(decoding: data, as: UTF8.self))
                        state.modified = modified
                        state.size = size
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
