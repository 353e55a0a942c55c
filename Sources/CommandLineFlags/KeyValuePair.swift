/// One `key=value` item of a `keyValues` flag.
///
/// A struct rather than a dictionary entry because the order of the pairs and repeated keys are kept.
public struct KeyValuePair: Sendable, Hashable, CustomStringConvertible {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public var description: String { "\(key)=\(value)" }
}
