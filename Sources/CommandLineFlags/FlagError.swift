/// A command line the flag set cannot accept.
///
/// Descriptions follow pflag's wording, one line each, so that messages match what users of the Go
/// kube-oidc-proxy already know.
public enum FlagError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `--name` (or `--name=value`) where no flag `name` is declared.
    case unknownFlag(String)
    /// A letter of a `-abc` cluster that is no declared shorthand; `cluster` is the part from that letter on.
    case unknownShorthand(Character, cluster: String)
    /// `--name` is the last argument but the flag takes a value.
    case missingArgument(flag: String)
    /// `-v` is the last argument but the flag takes a value.
    case missingShorthandArgument(Character, cluster: String)
    /// The value text does not parse as the flag's kind.
    case invalidArgument(value: String, flag: String, shorthand: Character?, reason: String)
    /// Something like `---name` or `--=value` that is no flag at all.
    case badSyntax(String)

    public var description: String {
        switch self {
        case .unknownFlag(let name):
            "unknown flag: --\(goEscaped(name))"
        case .unknownShorthand(let letter, let cluster):
            "unknown shorthand flag: \(goQuote(letter)) in -\(goEscaped(cluster))"
        case .missingArgument(let flag):
            "flag needs an argument: --\(flag)"
        case .missingShorthandArgument(let letter, let cluster):
            "flag needs an argument: \(goQuote(letter)) in -\(goEscaped(cluster))"
        case .invalidArgument(let value, let flag, let shorthand, let reason):
            "invalid argument \(goQuote(value)) for \(goQuote(flagDisplayName(flag, shorthand))) flag: "
                + goEscaped(reason)
        case .badSyntax(let argument):
            "bad flag syntax: \(goEscaped(argument))"
        }
    }
}

/// pflag names a flag with its shorthand in value errors whichever spelling the user typed.
func flagDisplayName(_ name: String, _ shorthand: Character?) -> String {
    if let shorthand { "-\(shorthand), --\(name)" } else { "--\(name)" }
}
