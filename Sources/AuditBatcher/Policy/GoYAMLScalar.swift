import Foundation

/// What the API server's policy decoder makes of one YAML scalar.
///
/// The API server reads a policy with sigs.k8s.io/yaml, which parses it with go-yaml v2 (YAML 1.1 rules:
/// `yes`, `on`, `y` are booleans) and then decodes the JSON it turns into. A plain (unquoted, untagged) scalar is
/// resolved to null, a boolean, an integer, a float or a string by go-yaml's rules, reproduced here byte for byte;
/// quoted and block scalars are strings. A string field then refuses anything but a string or null, and a
/// boolean field anything but a boolean or null.
///
/// Explicit tags are honoured as go-yaml honours them (`!!str 12` is a string, `!!int abc` an error). One
/// approximation: go-yaml checks a `!!timestamp` with Go's `time.Parse`; here any text starting with a
/// four-digit year and `-` passes.
struct GoYAMLScalar: Equatable, Sendable {
    enum Value: Equatable, Sendable {
        case null
        case bool(Bool)
        case integer
        case float
        case string(String)

        /// The kind, as an error names it.
        var kindName: String {
            switch self {
            case .null: "null"
            case .bool: "boolean"
            case .integer: "integer"
            case .float: "number"
            case .string: "string"
            }
        }
    }

    /// A scalar whose explicit tag go-yaml cannot honour, in go-yaml's words.
    struct Refusal: Error, Equatable, Sendable {
        let reason: String
    }

    static let tagPrefix = "tag:yaml.org,2002:"
    static let stringTag = tagPrefix + "str"
    static let mergeTag = tagPrefix + "merge"

    let text: String
    /// The explicit tag in full (`tag:yaml.org,2002:int`, or `!` for the non-specific tag); nil for a plain scalar
    /// without one. A quoted or block scalar without a tag has the string tag.
    let tag: String?

    init(_ text: String, tag: String? = nil) {
        self.text = text
        self.tag = tag
    }

    func resolve() throws(Refusal) -> Value {
        guard let tag else { return Self.implicitly(text, tryTimestamp: true).value }
        switch tag {
        case Self.stringTag:
            return .string(text)
        case Self.tagPrefix + "binary":
            let base64 = text.filter { $0 != "\n" && $0 != "\r" }
            guard let data = Data(base64Encoded: base64) else {
                throw Refusal(reason: "!!binary value contains invalid base64 data")
            }
            return .string(String(decoding: data, as: UTF8.self))
        case Self.tagPrefix + "bool", Self.tagPrefix + "int", Self.tagPrefix + "float", Self.tagPrefix + "null",
            Self.tagPrefix + "timestamp":
            let wanted = Resolved.Kind(tag: tag)
            let resolved = Self.implicitly(text, tryTimestamp: wanted == .timestamp)
            if resolved.kind == wanted { return resolved.value }
            // An integer that fits in 64 bits may be read as a float.
            if wanted == .float && resolved.kind == .integer && resolved.fitsInt64 { return .float }
            throw Refusal(reason: "cannot decode \(resolved.kind.shortTag) `\(text)` as a \(wanted.shortTag)")
        default:
            // Any other tag (`!`, `!custom`, `!!map` on a scalar) leaves the text as it is.
            return .string(text)
        }
    }

    /// Whether this scalar, as a mapping key, is go-yaml's merge key: `<<` plain and untagged, or tagged `!!merge`.
    var isMergeKey: Bool {
        text == "<<" && (tag == nil || tag == Self.mergeTag)
    }

    // MARK: - Implicit resolution (go-yaml v2's resolve.go)

    private struct Resolved {
        enum Kind: Equatable {
            case null, bool, integer, float, timestamp, string

            init(tag: String) {
                switch tag.dropFirst(GoYAMLScalar.tagPrefix.count) {
                case "null": self = .null
                case "bool": self = .bool
                case "int": self = .integer
                case "float": self = .float
                case "timestamp": self = .timestamp
                default: self = .string
                }
            }

            var shortTag: String {
                switch self {
                case .null: "!!null"
                case .bool: "!!bool"
                case .integer: "!!int"
                case .float: "!!float"
                case .timestamp: "!!timestamp"
                case .string: "!!str"
                }
            }
        }

        var kind: Kind
        var value: Value
        var fitsInt64 = false
    }

    private static let words: [String: Value] = {
        var words: [String: Value] = [:]
        for word in ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"] {
            words[word] = .bool(true)
        }
        for word in ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"] {
            words[word] = .bool(false)
        }
        for word in ["", "~", "null", "Null", "NULL"] { words[word] = .null }
        for word in [
            ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
        ] {
            words[word] = .float
        }
        return words
    }()

    private static func implicitly(_ text: String, tryTimestamp: Bool) -> Resolved {
        let bytes = Array(text.utf8)
        // go-yaml looks at the first byte: only a sign, a digit, `.` or the first letter of a word can start
        // anything but a string (and the empty text is null).
        let hint: UInt8?
        if let first = bytes.first {
            switch first {
            case UInt8(ascii: "+"), UInt8(ascii: "-"): hint = UInt8(ascii: "S")
            case UInt8(ascii: "0")...UInt8(ascii: "9"): hint = UInt8(ascii: "D")
            case UInt8(ascii: "."): hint = UInt8(ascii: ".")
            case _ where "yYnNtTfFoO~".utf8.contains(first): hint = UInt8(ascii: "M")
            default: hint = nil
            }
        } else {
            hint = UInt8(ascii: "N")
        }
        guard let hint else { return Resolved(kind: .string, value: .string(text)) }
        if let word = words[text] {
            switch word {
            case .null: return Resolved(kind: .null, value: .null)
            case .bool: return Resolved(kind: .bool, value: word)
            default: return Resolved(kind: .float, value: .float)
            }
        }
        switch hint {
        case UInt8(ascii: "."):
            if GoNumberSyntax.isFloat(bytes[...]) { return Resolved(kind: .float, value: .float) }
        case UInt8(ascii: "D"), UInt8(ascii: "S"):
            if tryTimestamp && looksLikeTimestamp(bytes) { return Resolved(kind: .timestamp, value: .string(text)) }
            let plain = bytes.filter { $0 != UInt8(ascii: "_") }[...]
            if case .value = GoNumberSyntax.parseInt(plain, base: 0) {
                return Resolved(kind: .integer, value: .integer, fitsInt64: true)
            }
            let unsigned = GoNumberSyntax.parseUint(plain, base: 0)
            if case .value = unsigned { return Resolved(kind: .integer, value: .integer) }
            if GoNumberSyntax.isYAMLStyleFloat(plain) && GoNumberSyntax.isFloat(plain) {
                return Resolved(kind: .float, value: .float)
            }
            if plain.starts(with: "0b".utf8) {
                if case .value = GoNumberSyntax.parseInt(plain.dropFirst(2), base: 2) {
                    return Resolved(kind: .integer, value: .integer, fitsInt64: true)
                }
                if case .value = GoNumberSyntax.parseUint(plain.dropFirst(2), base: 2) {
                    return Resolved(kind: .integer, value: .integer)
                }
            } else if plain.starts(with: "-0b".utf8) {
                let negated = [UInt8(ascii: "-")] + plain.dropFirst(3)
                if case .value = GoNumberSyntax.parseInt(negated[...], base: 2) {
                    return Resolved(kind: .integer, value: .integer, fitsInt64: true)
                }
            }
        default:
            break
        }
        return Resolved(kind: .string, value: .string(text))
    }

    /// go-yaml's quick check before it tries `time.Parse`: four digits and a `-`.
    private static func looksLikeTimestamp(_ bytes: [UInt8]) -> Bool {
        bytes.count > 4 && bytes[..<4].allSatisfy(GoNumberSyntax.isDigit) && bytes[4] == UInt8(ascii: "-")
    }
}

/// Go's `strconv` number syntax, as go-yaml's resolver uses it: `ParseInt` and `ParseUint` (base 0 reads the
/// `0x`, `0o`, `0b` and legacy `0` prefixes), `ParseFloat` for decimal text, and go-yaml's own float pattern.
enum GoNumberSyntax {
    enum Outcome: Equatable {
        case value(UInt64)
        case syntaxError
        case outOfRange
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func lower(_ byte: UInt8) -> UInt8 { byte | 0x20 }

    /// `strconv.ParseUint(s, base, 64)`; base 0 takes the base from the prefix.
    static func parseUint(_ text: ArraySlice<UInt8>, base requested: Int) -> Outcome {
        guard !text.isEmpty else { return .syntaxError }
        var digits = text
        var base = UInt64(requested)
        let prefixed = requested == 0
        if prefixed {
            base = 10
            if digits.first == UInt8(ascii: "0") {
                let second = digits.count >= 3 ? lower(digits[digits.startIndex + 1]) : 0
                switch second {
                case UInt8(ascii: "b"): (base, digits) = (2, digits.dropFirst(2))
                case UInt8(ascii: "o"): (base, digits) = (8, digits.dropFirst(2))
                case UInt8(ascii: "x"): (base, digits) = (16, digits.dropFirst(2))
                default: (base, digits) = (8, digits.dropFirst())
                }
            }
        }
        var value: UInt64 = 0
        var underscores = false
        for byte in digits {
            let digit: UInt64
            if byte == UInt8(ascii: "_") && prefixed {
                underscores = true
                continue
            } else if isDigit(byte) {
                digit = UInt64(byte - UInt8(ascii: "0"))
            } else if lower(byte) >= UInt8(ascii: "a") && lower(byte) <= UInt8(ascii: "z") {
                digit = UInt64(lower(byte) - UInt8(ascii: "a") + 10)
            } else {
                return .syntaxError
            }
            guard digit < base else { return .syntaxError }
            // Go stops at the first overflow, before looking at the rest.
            let (shifted, overflow) = value.multipliedReportingOverflow(by: base)
            guard !overflow else { return .outOfRange }
            let (sum, carry) = shifted.addingReportingOverflow(digit)
            guard !carry else { return .outOfRange }
            value = sum
        }
        if underscores && !underscoresAreSeparators(text) { return .syntaxError }
        return .value(value)
    }

    /// `strconv.ParseInt(s, base, 64)`: an optional sign, then `ParseUint`, then the `int64` range. The value is
    /// the magnitude.
    static func parseInt(_ text: ArraySlice<UInt8>, base: Int) -> Outcome {
        guard let first = text.first else { return .syntaxError }
        let negative = first == UInt8(ascii: "-")
        let magnitude = first == UInt8(ascii: "+") || negative ? text.dropFirst() : text
        let unsigned = parseUint(magnitude, base: base)
        guard case .value(let value) = unsigned else { return unsigned }
        let limit = UInt64(1) << 63
        if negative ? value > limit : value >= limit { return .outOfRange }
        return .value(value)
    }

    /// go-yaml's float pattern, `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
    static func isYAMLStyleFloat(_ text: ArraySlice<UInt8>) -> Bool {
        var index = text.startIndex
        func digits() -> Int {
            let start = index
            while index < text.endIndex && isDigit(text[index]) { index += 1 }
            return index - start
        }
        if index < text.endIndex && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
            index += 1
        }
        if index < text.endIndex && text[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        } else {
            guard digits() > 0 else { return false }
            if index < text.endIndex && text[index] == UInt8(ascii: ".") {
                index += 1
                _ = digits()
            }
        }
        if index < text.endIndex && lower(text[index]) == UInt8(ascii: "e") {
            index += 1
            if index < text.endIndex && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard digits() > 0 else { return false }
        }
        return index == text.endIndex
    }

    /// Whether `strconv.ParseFloat(s, 64)` reads decimal text without error: digits with at most one `.`, an
    /// optional exponent, `_` only between digits, and a value that does not overflow to infinity. (Hexadecimal
    /// floats and `inf`/`nan` words never reach it from go-yaml's resolver.)
    static func isFloat(_ text: ArraySlice<UInt8>) -> Bool {
        var index = text.startIndex
        if index < text.endIndex && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
            index += 1
        }
        var sawDigits = false
        var sawDot = false
        var underscores = false
        mantissa: while index < text.endIndex {
            switch text[index] {
            case UInt8(ascii: "_"): underscores = true
            case UInt8(ascii: "."):
                if sawDot { break mantissa }
                sawDot = true
            case let byte where isDigit(byte): sawDigits = true
            default: break mantissa
            }
            index += 1
        }
        guard sawDigits else { return false }
        if index < text.endIndex && lower(text[index]) == UInt8(ascii: "e") {
            index += 1
            if index < text.endIndex && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard index < text.endIndex && isDigit(text[index]) else { return false }
            while index < text.endIndex && (isDigit(text[index]) || text[index] == UInt8(ascii: "_")) {
                if text[index] == UInt8(ascii: "_") { underscores = true }
                index += 1
            }
        }
        guard index == text.endIndex else { return false }
        if underscores && !underscoresAreSeparators(text) { return false }
        let withoutUnderscores = String(decoding: text.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        guard let value = Double(withoutUnderscores) else { return false }
        return value.isFinite
    }

    /// Go's `underscoreOK`: each `_` sits between digits (or between a base prefix and a digit).
    static func underscoresAreSeparators(_ text: ArraySlice<UInt8>) -> Bool {
        enum Last { case start, digit, underscore, other }
        var last = Last.start
        var body = text
        if let first = body.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            body = body.dropFirst()
        }
        var hex = false
        if body.count >= 2 && body.first == UInt8(ascii: "0") {
            let second = lower(body[body.startIndex + 1])
            if second == UInt8(ascii: "b") || second == UInt8(ascii: "o") || second == UInt8(ascii: "x") {
                body = body.dropFirst(2)
                last = .digit
                hex = second == UInt8(ascii: "x")
            }
        }
        for byte in body {
            if isDigit(byte) || (hex && lower(byte) >= UInt8(ascii: "a") && lower(byte) <= UInt8(ascii: "f")) {
                last = .digit
            } else if byte == UInt8(ascii: "_") {
                guard last == .digit else { return false }
                last = .underscore
            } else {
                guard last != .underscore else { return false }
                last = .other
            }
        }
        return last != .underscore
    }
}
