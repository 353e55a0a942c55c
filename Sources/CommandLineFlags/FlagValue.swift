/// A typed flag value: the default of a declaration or what the command line produced.
public enum FlagValue: Sendable, Equatable {
    case bool(Bool)
    case string(String)
    case int(Int)
    case float(Double)
    case duration(Duration)
    /// The value of both `stringList` and `stringArray` flags; they differ only in how text is split.
    case strings([String])
    case keyValues([KeyValuePair])
    case bytes(UInt64)

    /// Whether this value can be held by a flag of `kind`.
    public func fits(_ kind: FlagKind) -> Bool {
        switch (self, kind) {
        case (.bool, .bool), (.string, .string), (.int, .int), (.float, .float), (.duration, .duration),
            (.strings, .stringList), (.strings, .stringArray), (.keyValues, .keyValues),
            (.keyValues, .keyValuePerOccurrence), (.bytes, .byteQuantity):
            true
        default:
            false
        }
    }
}
