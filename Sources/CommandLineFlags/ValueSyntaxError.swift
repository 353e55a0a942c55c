/// Why a piece of text is not a valid value of some kind, e.g. `missing unit in duration "5"`.
///
/// Kept apart from `FlagError` so the value parsers can be used (and tested) without a flag around them;
/// the flag parser wraps it into `FlagError.invalidArgument`.
public struct ValueSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
