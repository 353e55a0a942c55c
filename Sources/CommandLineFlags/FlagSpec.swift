/// The declaration of one flag: what it is called, what it holds and how help text describes it.
public struct FlagSpec: Sendable, Equatable {
    /// The long name, used as `--name`.
    public let name: String
    /// The one-letter form, used as `-v`.
    public let shorthand: Character?
    public let kind: FlagKind
    /// What the parse result reports when the flag is not on the command line.
    public let defaultValue: FlagValue
    /// Help text. A word in backquotes replaces the type name in help (pflag's convention): "the `file` to read".
    public let usage: String
    /// Hidden flags parse normally but are left out of help, e.g. ones kept only for compatibility.
    public let hidden: Bool

    /// Declares a flag. The typed factories (`.string(…)`, `.duration(…)`, …) are easier to read at call sites.
    ///
    /// - Precondition: `defaultValue` fits `kind`; `name` is non-empty and contains neither a leading `-` nor `=`;
    ///   `shorthand`, if any, is neither `-` nor `=`.
    public init(
        name: String,
        shorthand: Character? = nil,
        kind: FlagKind,
        default defaultValue: FlagValue,
        usage: String,
        hidden: Bool = false
    ) {
        precondition(!name.isEmpty && !name.hasPrefix("-") && !name.contains("="), "invalid flag name \"\(name)\"")
        precondition(shorthand != "-" && shorthand != "=", "invalid shorthand for --\(name)")
        precondition(defaultValue.fits(kind), "default \(defaultValue) does not fit \(kind) flag --\(name)")
        self.name = name
        self.shorthand = shorthand
        self.kind = kind
        self.defaultValue = defaultValue
        self.usage = usage
        self.hidden = hidden
    }
}

extension FlagSpec {
    public static func bool(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: Bool = false,
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .bool, default: .bool(defaultValue), usage: usage, hidden: hidden
        )
    }

    public static func string(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: String = "",
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .string, default: .string(defaultValue), usage: usage,
            hidden: hidden
        )
    }

    public static func int(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: Int = 0,
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .int, default: .int(defaultValue), usage: usage, hidden: hidden
        )
    }

    public static func float(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: Double = 0,
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .float, default: .float(defaultValue), usage: usage,
            hidden: hidden
        )
    }

    public static func duration(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: Duration = .zero,
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .duration, default: .duration(defaultValue), usage: usage,
            hidden: hidden
        )
    }

    public static func stringList(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: [String] = [],
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .stringList, default: .strings(defaultValue), usage: usage,
            hidden: hidden
        )
    }

    public static func stringArray(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: [String] = [],
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .stringArray, default: .strings(defaultValue), usage: usage,
            hidden: hidden
        )
    }

    public static func keyValues(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: [KeyValuePair] = [],
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .keyValues, default: .keyValues(defaultValue), usage: usage,
            hidden: hidden
        )
    }

    /// A `key=value` pair per occurrence, the value taken whole (``FlagKind/keyValuePerOccurrence``).
    public static func keyValuePerOccurrence(
        _ name: String,
        shorthand: Character? = nil,
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .keyValuePerOccurrence, default: .keyValues([]), usage: usage,
            hidden: hidden
        )
    }

    public static func byteQuantity(
        _ name: String,
        shorthand: Character? = nil,
        default defaultValue: UInt64 = 0,
        usage: String,
        hidden: Bool = false
    ) -> FlagSpec {
        FlagSpec(
            name: name, shorthand: shorthand, kind: .byteQuantity, default: .bytes(defaultValue), usage: usage,
            hidden: hidden
        )
    }
}
