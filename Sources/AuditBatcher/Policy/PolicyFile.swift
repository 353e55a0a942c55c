#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads the policy file with plain POSIX calls, so that a failure reads as the system's own words
/// ("No such file or directory", "Is a directory", "Permission denied"), which Foundation's errors paraphrase away.
enum PolicyFile {
    struct ReadError: Error {
        let reason: String
    }

    static func contents(atPath path: String) throws(ReadError) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw ReadError(reason: lastErrorText()) }
        defer { fclose(file) }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            contents.append(contentsOf: buffer[..<count])
            if count < buffer.count {
                if ferror(file) != 0 { throw ReadError(reason: lastErrorText()) }
                return contents
            }
        }
    }

    private static func lastErrorText() -> String {
        String(cString: strerror(errno))
    }
}
