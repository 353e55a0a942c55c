/// A configuration the proxy refuses to start with: one line naming the flag, and the exit
/// status (2 for a usage error, 1 when the value is well-formed but the proxy cannot use it).
public struct StartupError: Error, Equatable, CustomStringConvertible {
    public let flag: String?
    public let message: String
    public let exitCode: Int32

    public init(flag: String?, _ message: String, exitCode: Int32 = 2) {
        self.flag = flag
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String {
        if let flag { "invalid value for --\(flag): \(message)" } else { message }
    }
}
