// Turning one occurrence's text into a value, per kind. Error reasons are shorter than Go's `strconv` messages
// because the surrounding `invalid argument "…" for "--flag" flag:` already quotes the text.

extension FlagKind {
    /// The value after one more occurrence with `text`; `earlier` is what previous occurrences produced, if any.
    ///
    /// The first occurrence of an accumulating flag replaces the default instead of extending it, as in pflag,
    /// so a default list can be overridden rather than only added to.
    func value(parsing text: String, after earlier: FlagValue?) throws(ValueSyntaxError) -> FlagValue {
        switch self {
        case .bool:
            return .bool(try parseGoBool(text))
        case .string:
            return .string(text)
        case .int:
            return .int(try parseGoInt(text))
        case .float:
            return .float(try parseGoFloat(text))
        case .duration:
            return .duration(try parseGoDuration(text))
        case .byteQuantity:
            return .bytes(try parseByteQuantity(text))
        case .stringList:
            return .strings(earlierStrings(earlier) + (try splitCommaSeparated(text)))
        case .stringArray:
            return .strings(earlierStrings(earlier) + [text])
        case .keyValues:
            var pairs: [KeyValuePair] = []
            if case .keyValues(let existing) = earlier { pairs = existing }
            return .keyValues(pairs + (try parseKeyValuePairs(text)))
        case .keyValuePerOccurrence:
            var pairs: [KeyValuePair] = []
            if case .keyValues(let existing) = earlier { pairs = existing }
            return .keyValues(pairs + [try parseKeyValuePair(text)])
        }
    }
}

private func earlierStrings(_ earlier: FlagValue?) -> [String] {
    if case .strings(let strings) = earlier { strings } else { [] }
}

/// Go's `strconv.ParseBool`, which pflag uses for `--flag=value`.
func parseGoBool(_ text: String) throws(ValueSyntaxError) -> Bool {
    switch text {
    case "1", "t", "T", "true", "TRUE", "True": return true
    case "0", "f", "F", "false", "FALSE", "False": return false
    default: throw ValueSyntaxError("not a boolean")
    }
}

/// A decimal Go `int`. Unlike pflag this does not accept `0x`/`0o` prefixes or read a leading zero as octal:
/// `--secure-port=0443` should not silently mean 291.
func parseGoInt(_ text: String) throws(ValueSyntaxError) -> Int {
    if let value = Int(text) { return value }
    let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
    if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
        throw ValueSyntaxError("value out of range")
    }
    throw ValueSyntaxError("not an integer")
}

func parseGoFloat(_ text: String) throws(ValueSyntaxError) -> Double {
    guard let value = Double(text) else { throw ValueSyntaxError("not a number") }
    // Swift saturates `1e999` to infinity where Go's ParseFloat reports a range error.
    if value.isInfinite, !text.lowercased().contains("inf") { throw ValueSyntaxError("value out of range") }
    return value
}

/// One CSV record, as pflag's string slices read them: a field may be double-quoted to contain commas,
/// with `""` for a literal quote. An empty text is no fields at all.
func splitCommaSeparated(_ text: String) throws(ValueSyntaxError) -> [String] {
    if text.isEmpty { return [] }
    // Scalars rather than Characters: a combining mark after a comma must not hide the comma.
    var rest = text.unicodeScalars[...]
    var fields: [String] = []
    while true {
        var field = String.UnicodeScalarView()
        if rest.first == "\"" {
            rest = rest.dropFirst()
            while true {
                guard let scalar = rest.popFirst() else {
                    throw ValueSyntaxError("unterminated quoted field")
                }
                if scalar != "\"" {
                    field.append(scalar)
                } else if rest.first == "\"" {
                    field.append(scalar)
                    rest = rest.dropFirst()
                } else {
                    break
                }
            }
            if let next = rest.first, next != "," {
                throw ValueSyntaxError("extraneous \" after quoted field")
            }
        } else {
            let end = rest.firstIndex(of: ",") ?? rest.endIndex
            guard !rest[..<end].contains("\"") else { throw ValueSyntaxError("bare \" in non-quoted field") }
            field.append(contentsOf: rest[..<end])
            rest = rest[end...]
        }
        fields.append(String(field))
        guard rest.popFirst() != nil else { return fields }
    }
}

/// Comma-separated `key=value` pairs as Kubernetes' `MapStringString` reads them: empty items are skipped and
/// whitespace around keys and values is trimmed. The value may contain `=`.
func parseKeyValuePairs(_ text: String) throws(ValueSyntaxError) -> [KeyValuePair] {
    var pairs: [KeyValuePair] = []
    for item in text.unicodeScalars.split(separator: ",", omittingEmptySubsequences: true) {
        let itemText = String(String.UnicodeScalarView(item))
        guard let equals = item.firstIndex(of: "=") else {
            throw ValueSyntaxError("malformed pair \(goQuote(itemText)), expected key=value")
        }
        let key = trimmed(item[..<equals])
        guard !key.isEmpty else { throw ValueSyntaxError("empty key in pair \(goQuote(itemText))") }
        pairs.append(KeyValuePair(key: key, value: trimmed(item[item.index(after: equals)...])))
    }
    return pairs
}

/// One `key=value` pair, the value taken whole (commas included), as Kubernetes' `MapStringString`
/// with `NoSplit` reads it: whitespace around key and value trimmed, the value may contain `=`.
func parseKeyValuePair(_ text: String) throws(ValueSyntaxError) -> KeyValuePair {
    let scalars = text.unicodeScalars[...]
    guard let equals = scalars.firstIndex(of: "=") else {
        throw ValueSyntaxError("malformed pair \(goQuote(text)), expected key=value")
    }
    let key = trimmed(scalars[..<equals])
    guard !key.isEmpty else { throw ValueSyntaxError("empty key in pair \(goQuote(text))") }
    return KeyValuePair(key: key, value: trimmed(scalars[scalars.index(after: equals)...]))
}

private func trimmed(_ scalars: Substring.UnicodeScalarView) -> String {
    let start = scalars.firstIndex { !$0.properties.isWhitespace } ?? scalars.endIndex
    let end = scalars.lastIndex { !$0.properties.isWhitespace }.map(scalars.index(after:)) ?? start
    return String(String.UnicodeScalarView(scalars[start..<max(start, end)]))
}
