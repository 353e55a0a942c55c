/// Whether a `labelSelector` parameter parses as the API server parses it (apimachinery's
/// `labels.Parse`): requirements separated by commas, each `key`, `!key`, `key=value`,
/// `key==value`, `key!=value`, `key in (values)`, `key notin (values)`, `key>integer` or
/// `key<integer`, with keys that are qualified names and values that are label values.
///
/// The request info needs only the verdict: when list options fail to decode, the API server
/// drops the name a field selector would give a list or a watch.
enum LabelSelector {
    static func isValid(_ selector: String) -> Bool {
        var parser = Parser(tokens: Lexer.tokens(of: Array(selector.utf8)))
        return parser.parse()
    }

    enum Token: Equatable {
        case end, identifier([UInt8]), inKeyword, notInKeyword
        case bang, equals, doubleEquals, notEquals, greaterThan, lessThan, openParen, closeParen, comma
    }

    enum Lexer {
        static func tokens(of bytes: [UInt8]) -> [Token] {
            var tokens: [Token] = []
            var index = 0
            while true {
                while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
                // Go's lexer reads a NUL byte as the end of the string.
                guard index < bytes.count, bytes[index] != 0 else {
                    tokens.append(.end)
                    return tokens
                }
                if isSpecial(bytes[index]) {
                    // The longest run of special characters that is a token.
                    let two = index + 1 < bytes.count ? symbol([bytes[index], bytes[index + 1]]) : nil
                    if let two {
                        tokens.append(two)
                        index += 2
                    } else {
                        tokens.append(symbol([bytes[index]])!)
                        index += 1
                    }
                    continue
                }
                let start = index
                while index < bytes.count, bytes[index] != 0, !isSpecial(bytes[index]), !isWhitespace(bytes[index]) {
                    index += 1
                }
                let word = Array(bytes[start..<index])
                switch word {
                case Array("in".utf8): tokens.append(.inKeyword)
                case Array("notin".utf8): tokens.append(.notInKeyword)
                default: tokens.append(.identifier(word))
                }
            }
        }

        private static func symbol(_ text: [UInt8]) -> Token? {
            switch String(decoding: text, as: UTF8.self) {
            case "!": .bang
            case "=": .equals
            case "==": .doubleEquals
            case "!=": .notEquals
            case ">": .greaterThan
            case "<": .lessThan
            case "(": .openParen
            case ")": .closeParen
            case ",": .comma
            default: nil
            }
        }

        private static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
        }

        private static func isSpecial(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ","),
                UInt8(ascii: ">"), UInt8(ascii: "<"):
                true
            default: false
            }
        }
    }

    struct Parser {
        let tokens: [Token]
        var position = 0

        /// Where values are read, `in` and `notin` are plain identifiers.
        private func peek() -> Token { Self.asValue(tokens[position]) }

        private mutating func next() -> Token {
            defer { position += 1 }
            return Self.asValue(tokens[position])
        }

        private static func asValue(_ token: Token) -> Token {
            switch token {
            case .inKeyword: .identifier(Array("in".utf8))
            case .notInKeyword: .identifier(Array("notin".utf8))
            default: token
            }
        }

        mutating func parse() -> Bool {
            while true {
                switch peek() {
                case .end: return true
                case .identifier, .bang:
                    guard parseRequirement() else { return false }
                    switch next() {
                    case .end: return true
                    case .comma:
                        switch peek() {
                        case .identifier, .bang: continue
                        default: return false
                        }
                    default: return false
                    }
                default: return false
                }
            }
        }

        private mutating func parseRequirement() -> Bool {
            var absent = false
            if peek() == .bang {
                absent = true
                position += 1
            }
            guard case .identifier(let key) = next(), Self.isQualifiedName(key) else { return false }
            switch peek() {
            case .end, .comma: return true
            default: if absent { return false }
            }
            // The operator is read as written: here `in` and `notin` are keywords.
            let operatorToken = tokens[position]
            position += 1
            switch operatorToken {
            case .inKeyword, .notInKeyword:
                guard let values = parseValues() else { return false }
                return values.allSatisfy(Self.isLabelValue)
            case .equals, .doubleEquals, .notEquals:
                guard let value = parseExactValue() else { return false }
                return Self.isLabelValue(value)
            case .greaterThan, .lessThan:
                guard let value = parseExactValue() else { return false }
                return Int64(String(decoding: value, as: UTF8.self)) != nil && Self.isLabelValue(value)
            default:
                return false
            }
        }

        /// `( value, … )`; empty places are the empty value.
        private mutating func parseValues() -> [[UInt8]]? {
            guard next() == .openParen else { return nil }
            switch peek() {
            case .closeParen:
                position += 1
                return [[]]
            case .identifier, .comma:
                var values: [[UInt8]] = []
                while true {
                    switch next() {
                    case .identifier(let value):
                        values.append(value)
                        switch peek() {
                        case .comma: continue
                        case .closeParen:
                            position += 1
                            return values
                        default: return nil
                        }
                    case .comma:
                        values.append([])
                        if peek() == .closeParen {
                            position += 1
                            return values
                        }
                    default:
                        return nil
                    }
                }
            default:
                return nil
            }
        }

        /// One value, or the empty one before a comma or the end.
        private mutating func parseExactValue() -> [UInt8]? {
            switch peek() {
            case .end, .comma: return []
            case .identifier(let value):
                position += 1
                return value
            default: return nil
            }
        }

        /// `name` or `prefix/name`: a DNS subdomain prefix, and a name of at most 63 characters.
        static func isQualifiedName(_ key: [UInt8]) -> Bool {
            let parts = key.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            switch parts.count {
            case 1: return isName(parts[0])
            case 2:
                return !parts[0].isEmpty && DNSSubdomain.isValid(String(decoding: parts[0], as: UTF8.self))
                    && isName(parts[1])
            default: return false
            }
        }

        private static func isName(_ name: ArraySlice<UInt8>) -> Bool {
            !name.isEmpty && isLabelValue(Array(name))
        }

        /// At most 63 characters: empty, or alphanumeric at both ends with `-`, `_`, `.` between.
        static func isLabelValue(_ value: [UInt8]) -> Bool {
            guard value.count <= 63 else { return false }
            guard let first = value.first, let last = value.last else { return true }
            func isAlphanumeric(_ byte: UInt8) -> Bool {
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            }
            return isAlphanumeric(first) && isAlphanumeric(last)
                && value.allSatisfy {
                    isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                }
        }
    }
}
