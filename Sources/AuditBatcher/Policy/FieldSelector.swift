/// Just enough of Kubernetes' field selector grammar (`k8s.io/apimachinery/pkg/fields`) to find the name a
/// `list` or `watch` is narrowed to with `fieldSelector=metadata.name=NAME`.
enum FieldSelector {
    /// The value `field` must equal, or nil when the selector does not pin it. Throws when the selector is
    /// malformed: the API server then ignores the selector for request info.
    static func requiredValue(of field: String, in selector: String) throws(FieldSelectorError) -> String? {
        var requirements: [(field: Substring, value: String, equal: Bool)] = []
        // The API server sorts the terms before looking, so with two `metadata.name` terms the smaller term wins.
        for term in splitTerms(selector).sorted() where !term.isEmpty {
            guard let (lhs, op, rhs) = splitTerm(term) else { throw FieldSelectorError() }
            requirements.append((lhs, try unescape(rhs), op != "!="))
        }
        return requirements.first { $0.equal && $0.field == field }?.value
    }

    /// Splits on commas not escaped by a backslash; the escapes are kept for `unescape`.
    private static func splitTerms(_ selector: String) -> [Substring] {
        var terms: [Substring] = []
        var start = selector.startIndex
        var escaped = false
        for index in selector.indices {
            let character = selector[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                terms.append(selector[start..<index])
                start = selector.index(after: index)
            }
        }
        terms.append(selector[start...])
        return terms
    }

    /// The first operator found from the left splits the term; `!=` and `==` are tried before `=`.
    private static func splitTerm(_ term: Substring) -> (Substring, String, Substring)? {
        var index = term.startIndex
        while index < term.endIndex {
            let rest = term[index...]
            for op in ["!=", "==", "="] where rest.hasPrefix(op) {
                return (term[..<index], op, rest.dropFirst(op.count))
            }
            index = term.index(after: index)
        }
        return nil
    }

    /// Only `\\`, `\,` and `\=` are escapes; a bare `,` or `=` in a value is an error.
    private static func unescape(_ value: Substring) throws(FieldSelectorError) -> String {
        var result = ""
        var escaped = false
        for character in value {
            if escaped {
                guard character == "\\" || character == "," || character == "=" else { throw FieldSelectorError() }
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," || character == "=" {
                throw FieldSelectorError()
            } else {
                result.append(character)
            }
        }
        guard !escaped else { throw FieldSelectorError() }
        return result
    }
}

/// A field selector that Kubernetes would refuse to parse.
struct FieldSelectorError: Error {}
