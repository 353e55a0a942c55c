import Foundation

/// A directory of its own under the system's temporary directory, for one test's files. Whoever
/// creates it removes it: `let directory = try TemporaryDirectory("spool"); defer { directory.remove() }`,
/// or, for a suite whose every test writes files, a class suite creates one in `init` and removes
/// it in `deinit` (Swift Testing makes an instance per test).
public struct TemporaryDirectory: Sendable {
    public let path: String

    /// Creates `<tmp>/<prefix>-<UUID>`; the prefix says whose files these are when one is left behind.
    public init(_ prefix: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    /// The path of `name` in this directory (nothing is created).
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` in this directory and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let file = file(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Removes the directory and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
