/// The kinds of value a flag can hold: the subset of pflag value types that Kubernetes components use.
public enum FlagKind: Sendable, Hashable, CaseIterable {
    case bool
    case string
    case int
    /// A Go `float64`.
    case float
    /// Go `time.ParseDuration` syntax.
    case duration
    /// Comma-separated and repeatable (pflag `StringSlice`).
    case stringList
    /// Repeatable without comma splitting, for values that may themselves contain commas (pflag `StringArray`).
    case stringArray
    /// Comma-separated `key=value` pairs, repeatable; order and duplicate keys are kept.
    case keyValues
    /// One `key=value` pair per occurrence, the value taken whole, commas and all (Kubernetes'
    /// `MapStringString` with `NoSplit`, as `--oidc-required-claim` is declared); repeatable,
    /// order and duplicate keys kept (the last one counts).
    case keyValuePerOccurrence
    /// A byte count written as a Kubernetes resource quantity (`256Mi`, `1G`).
    case byteQuantity

    /// The type word pflag prints in help text; empty for booleans, which take no argument.
    public var typeName: String {
        switch self {
        case .bool: ""
        case .string: "string"
        case .int: "int"
        case .float: "float"
        case .duration: "duration"
        case .stringList: "strings"
        case .stringArray: "stringArray"
        case .keyValues, .keyValuePerOccurrence: "mapStringString"
        case .byteQuantity: "quantity"
        }
    }

    /// Whether later occurrences add to earlier ones instead of replacing them.
    public var accumulates: Bool {
        switch self {
        case .stringList, .stringArray, .keyValues, .keyValuePerOccurrence: true
        case .bool, .string, .int, .float, .duration, .byteQuantity: false
        }
    }
}
