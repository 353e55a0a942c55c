/// A set of flag declarations and the parser for command lines made of them, following pflag's rules.
public struct FlagSet: Sendable {
    /// The declarations in the order they were added.
    public private(set) var flags: [FlagSpec] = []
    private var specsByName: [String: FlagSpec] = [:]
    private var namesByShorthand: [Character: String] = [:]

    public init(_ flags: [FlagSpec] = []) {
        for flag in flags { add(flag) }
    }

    /// - Precondition: no flag with the same name or shorthand has been added; two would make parsing ambiguous.
    public mutating func add(_ flag: FlagSpec) {
        precondition(specsByName[flag.name] == nil, "flag --\(flag.name) declared twice")
        specsByName[flag.name] = flag
        if let shorthand = flag.shorthand {
            precondition(namesByShorthand[shorthand] == nil, "shorthand -\(shorthand) declared twice")
            namesByShorthand[shorthand] = flag.name
        }
        flags.append(flag)
    }

    /// The declaration called `name`, if any.
    public func spec(named name: String) -> FlagSpec? {
        specsByName[name]
    }

    /// Reads `arguments` (without the program name).
    ///
    /// Anything that is not a flag or a flag's value is returned as positional, in order, and so is everything
    /// after `--`. A non-repeatable flag given twice keeps its last value.
    public func parse(_ arguments: [String]) throws(FlagError) -> ParsedFlags {
        var parser = Parser(specsByName: specsByName, namesByShorthand: namesByShorthand, arguments: arguments)
        try parser.run()
        return ParsedFlags(specs: specsByName, explicitValues: parser.explicitValues, positional: parser.positional)
    }
}

/// The state of one `parse` call: a cursor over the arguments plus what has been collected so far.
private struct Parser {
    let specsByName: [String: FlagSpec]
    let namesByShorthand: [Character: String]
    let arguments: [String]
    var nextIndex = 0
    var explicitValues: [String: FlagValue] = [:]
    var positional: [String] = []

    init(specsByName: [String: FlagSpec], namesByShorthand: [Character: String], arguments: [String]) {
        self.specsByName = specsByName
        self.namesByShorthand = namesByShorthand
        self.arguments = arguments
    }

    mutating func run() throws(FlagError) {
        while let argument = takeNext() {
            if argument == "--" {
                positional += arguments[nextIndex...]
                return
            } else if argument.hasPrefix("--") {
                try parseLong(argument)
            } else if argument.hasPrefix("-") && argument.count > 1 {
                try parseShorthands(argument.dropFirst())
            } else {
                // A lone `-` conventionally means standard input, so it is an argument, not a flag.
                positional.append(argument)
            }
        }
    }

    private mutating func takeNext() -> String? {
        guard nextIndex < arguments.count else { return nil }
        defer { nextIndex += 1 }
        return arguments[nextIndex]
    }

    private mutating func parseLong(_ argument: String) throws(FlagError) {
        let body = argument.dropFirst(2)
        if body.first == "-" || body.first == "=" { throw .badSyntax(argument) }
        let name: String
        let inlineValue: String?
        if let equals = body.firstIndex(of: "=") {
            name = String(body[..<equals])
            inlineValue = String(body[body.index(after: equals)...])
        } else {
            name = String(body)
            inlineValue = nil
        }
        guard let spec = specsByName[name] else { throw .unknownFlag(name) }

        if let inlineValue {
            try record(spec, inlineValue)
        } else if spec.kind == .bool {
            // A bare boolean never takes the next argument, so `--flag false` leaves `false` positional.
            try record(spec, "true")
        } else if let next = takeNext() {
            // Taken even if it starts with `-`, so negative numbers work: `--offset -5`.
            try record(spec, next)
        } else {
            throw .missingArgument(flag: name)
        }
    }

    /// A cluster like `-abc`, `-v=2`, `-v2` or `-v` followed by its value as the next argument.
    private mutating func parseShorthands(_ cluster: Substring) throws(FlagError) {
        var rest = cluster
        while let letter = rest.first {
            guard let name = namesByShorthand[letter], let spec = specsByName[name] else {
                throw .unknownShorthand(letter, cluster: String(rest))
            }
            let afterLetter = rest.dropFirst()
            if afterLetter.first == "=" {
                try record(spec, String(afterLetter.dropFirst()))
                return
            } else if spec.kind == .bool {
                try record(spec, "true")
                rest = afterLetter
            } else if !afterLetter.isEmpty {
                try record(spec, String(afterLetter))
                return
            } else if let next = takeNext() {
                try record(spec, next)
                return
            } else {
                throw .missingShorthandArgument(letter, cluster: String(rest))
            }
        }
    }

    private mutating func record(_ spec: FlagSpec, _ text: String) throws(FlagError) {
        do {
            explicitValues[spec.name] = try spec.kind.value(parsing: text, after: explicitValues[spec.name])
        } catch {
            throw .invalidArgument(value: text, flag: spec.name, shorthand: spec.shorthand, reason: error.reason)
        }
    }
}
