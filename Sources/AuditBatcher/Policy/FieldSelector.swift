/// Just enough of Kubernetes' field selector grammar (`k8s.io/apimachinery/pkg/fields`) to find the name a
/// `list` or `watch` is narrowed to with `fieldSelector=metadata.name=NAME`.
///
/// Read as Go reads it: split and unescaped by code point, terms sorted and compared by their UTF-8 bytes. Swift's
/// characters would hide a `,`, `=` or `\` followed by a combining mark, and its ordering equates canonically
/// equivalent terms.
enum FieldSelector {
    /// The value `field` must equal, or nil when the selector does not pin it. Throws when the selector is
    /// malformed: the API server then ignores the selector for request info.
    static func requiredValue(of field: String, in selector: String) throws(FieldSelectorError) -> String? {
        var requirements: [(field: Substring, value: String, equal: Bool)] = []
        // The API server sorts the terms before looking, so with two `metadata.name` terms the smaller term wins.
        let terms = splitTerms(selector).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for term in terms where !term.isEmpty {
            guard let (lhs, op, rhs) = splitTerm(term) else { throw FieldSelectorError() }
            requirements.append((lhs, try unescape(rhs), op != .notEqual))
        }
        return requirements.first { $0.equal && $0.field.goEquals(field) }?.value
    }

    private enum Operator {
        case notEqual, doubleEqual, equal
    }

    /// Splits on commas not escaped by a backslash; the escapes are kept for `unescape`. A backslash escapes the
    /// whole code point after it.
    private static func splitTerms(_ selector: String) -> [Substring] {
        var terms: [Substring] = []
        let scalars = selector.unicodeScalars
        var start = scalars.startIndex
        var escaped = false
        for index in scalars.indices {
            let scalar = scalars[index]
            if escaped {
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "," {
                terms.append(Substring(scalars[start..<index]))
                start = scalars.index(after: index)
            }
        }
        terms.append(Substring(scalars[start...]))
        return terms
    }

    /// The first operator found from the left splits the term; `!=` and `==` are tried before `=`.
    private static func splitTerm(_ term: Substring) -> (Substring, Operator, Substring)? {
        let bytes = term.utf8
        let equal = UInt8(ascii: "=")
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let next = bytes.index(after: index)
            let followedByEqual = next < bytes.endIndex && bytes[next] == equal
            switch bytes[index] {
            case UInt8(ascii: "!") where followedByEqual:
                return (term[..<index], .notEqual, term[bytes.index(after: next)...])
            case equal where followedByEqual:
                return (term[..<index], .doubleEqual, term[bytes.index(after: next)...])
            case equal:
                return (term[..<index], .equal, term[next...])
            default:
                index = next
            }
        }
        return nil
    }

    /// Only `\\`, `\,` and `\=` are escapes; a bare `,` or `=` in a value is an error.
    private static func unescape(_ value: Substring) throws(FieldSelectorError) -> String {
        var result = String.UnicodeScalarView()
        var escaped = false
        for scalar in value.unicodeScalars {
            if escaped {
                guard scalar == "\\" || scalar == "," || scalar == "=" else { throw FieldSelectorError() }
                result.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "," || scalar == "=" {
                throw FieldSelectorError()
            } else {
                result.append(scalar)
            }
        }
        guard !escaped else { throw FieldSelectorError() }
        return String(result)
    }
}

/// A field selector that Kubernetes would refuse to parse.
struct FieldSelectorError: Error {}
