import Foundation

/// Reads a whole file. File access stays at this edge so resolution can be tested against an
/// in-memory map.
public struct FileReader: Sendable {
    /// Why a file could not be read, in a few words (`no such file`, `permission denied`).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    private let body: @Sendable (String) throws -> Data

    public init(_ read: @escaping @Sendable (String) throws -> Data) {
        body = read
    }

    public func read(_ path: String) throws -> Data {
        try body(path)
    }

    /// The local file system.
    public static let fileSystem = FileReader { path in
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Failure("no such file")
        }
        if isDirectory.boolValue { throw Failure("is a directory") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw Failure("permission denied") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Failure(error.localizedDescription)
        }
    }

    /// Files held in memory, keyed by path; any other path is missing.
    public static func inMemory(_ files: [String: Data]) -> FileReader {
        FileReader { path in
            guard let data = files[path] else { throw Failure("no such file") }
            return data
        }
    }
}

/// Where a pod finds its service account credentials.
public struct InClusterPaths: Sendable, Equatable {
    public var tokenFile: String
    public var certificateAuthorityFile: String

    public init(tokenFile: String, certificateAuthorityFile: String) {
        self.tokenFile = tokenFile
        self.certificateAuthorityFile = certificateAuthorityFile
    }

    public static let standard = InClusterPaths(
        tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
        certificateAuthorityFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
    )
}
