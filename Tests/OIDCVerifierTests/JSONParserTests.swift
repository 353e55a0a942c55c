import Foundation
import Testing

@testable import OIDCVerifier

/// The claim-set parser: strict, bounded, and in agreement with Foundation on valid input.
@Suite struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? {
        try? JSONParser.parse(Array(text.utf8))
    }

    @Test func parsesEveryKindOfValue() {
        #expect(
            parse(#" { "s":"x", "n":-1.5e3, "t":true, "f":false, "z":null, "a":[1,"b",[]], "o":{} } "#)
                == .object([
                    "s": .string("x"), "n": .number(-1500), "t": .bool(true), "f": .bool(false), "z": .null,
                    "a": .array([.number(1), .string("b"), .array([])]), "o": .object([:]),
                ]))
    }

    @Test func decodesEscapesAndSurrogatePairs() {
        #expect(parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(parse(#""\u00e9\ud83d\ude00""#) == .string("é😀"))
        #expect(parse(#""\ud800x""#) == .string("\u{FFFD}x"))
        #expect(parse(#""\udc00""#) == .string("\u{FFFD}"))
    }

    @Test func duplicateKeysKeepTheLastValueAsGoDoes() {
        #expect(parse(#"{"sub":"alice","sub":"mallory"}"#) == .object(["sub": .string("mallory")]))
    }

    @Test func rejectsMalformedDocuments() {
        let bad = [
            "", "{", "}", #"{"a"}"#, #"{"a":}"#, "[1,]", "{,}", "01", "1.", ".5", "+1", "-", #""\x""#, "\"a\nb\"",
            "{} x", "'a'", "NaN", "1e999", "tru", "nul", "[1 2]", #"{"a":1,}"#, #""\u12""#, #"{1:2}"#,
        ]
        for text in bad {
            #expect(parse(text) == nil, "accepted \(text.debugDescription)")
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect((try? JSONParser.parse([0x22, 0xFF, 0xFE, 0x22])) == nil)
        #expect((try? JSONParser.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22])) == nil)
    }

    @Test func boundsNestingWithoutExhaustingTheStack() {
        let allowed = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(parse(allowed) != nil)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(parse(tooDeep) == nil)
        #expect(parse(String(repeating: "[", count: 100_000)) == nil)
        #expect(parse(String(repeating: #"{"a":"#, count: 100_000)) == nil)
    }

    @Test func agreesWithFoundationOnGeneratedDocuments() throws {
        var generator = SystemRandomNumberGenerator()
        func value(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator) {
            case 0: return .string(String((0..<Int.random(in: 0..<8)).map { _ in "aé\"\\/\n😀x\u{1}".randomElement()! }))
            case 1: return .number(Double(Int.random(in: -1_000_000...1_000_000)) / 8)
            case 2: return .bool(Bool.random())
            case 3: return .null
            case 4: return .array((0..<Int.random(in: 0..<4)).map { _ in value(depth + 1) })
            default:
                return .object(
                    Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0..<4)).map { ("k\($0)", value(depth + 1)) }))
            }
        }
        for _ in 0..<500 {
            let original = value(0)
            let encoded = try JSONEncoder().encode(original)
            #expect(try JSONParser.parse(Array(encoded)) == original)
        }
    }
}
