/// The outcome of `FlagSet.parse`: typed values, whether each flag was given, and the positional arguments.
///
/// Reading a flag that was never declared, or with the accessor of another kind, is a programming error and
/// traps: such a mistake would otherwise silently yield a default.
public struct ParsedFlags: Sendable {
    /// Non-flag arguments in command-line order, including everything after `--`.
    public let positional: [String]
    private let specs: [String: FlagSpec]
    private let explicitValues: [String: FlagValue]

    init(specs: [String: FlagSpec], explicitValues: [String: FlagValue], positional: [String]) {
        self.specs = specs
        self.explicitValues = explicitValues
        self.positional = positional
    }

    /// Whether the command line gave the flag, even if with a value equal to the default.
    /// Lets a caller pick a default that depends on other flags.
    public func isSet(_ name: String) -> Bool {
        _ = spec(name)
        return explicitValues[name] != nil
    }

    /// The value given on the command line, or the declared default.
    public func value(_ name: String) -> FlagValue {
        explicitValues[name] ?? spec(name).defaultValue
    }

    public func bool(_ name: String) -> Bool {
        if case .bool(let value) = value(name) { return value }
        wrongAccessor(name, "bool(_:)")
    }

    public func string(_ name: String) -> String {
        if case .string(let value) = value(name) { return value }
        wrongAccessor(name, "string(_:)")
    }

    public func int(_ name: String) -> Int {
        if case .int(let value) = value(name) { return value }
        wrongAccessor(name, "int(_:)")
    }

    /// The value of a `float` flag.
    public func double(_ name: String) -> Double {
        if case .float(let value) = value(name) { return value }
        wrongAccessor(name, "double(_:)")
    }

    public func duration(_ name: String) -> Duration {
        if case .duration(let value) = value(name) { return value }
        wrongAccessor(name, "duration(_:)")
    }

    /// The value of a `stringList` or `stringArray` flag.
    public func strings(_ name: String) -> [String] {
        if case .strings(let value) = value(name) { return value }
        wrongAccessor(name, "strings(_:)")
    }

    public func keyValues(_ name: String) -> [KeyValuePair] {
        if case .keyValues(let value) = value(name) { return value }
        wrongAccessor(name, "keyValues(_:)")
    }

    /// The value of a `byteQuantity` flag.
    public func bytes(_ name: String) -> UInt64 {
        if case .bytes(let value) = value(name) { return value }
        wrongAccessor(name, "bytes(_:)")
    }

    private func spec(_ name: String) -> FlagSpec {
        guard let spec = specs[name] else { preconditionFailure("flag --\(name) was never declared") }
        return spec
    }

    private func wrongAccessor(_ name: String, _ accessor: String) -> Never {
        preconditionFailure("flag --\(name) is a \(spec(name).kind) flag and cannot be read with \(accessor)")
    }
}
