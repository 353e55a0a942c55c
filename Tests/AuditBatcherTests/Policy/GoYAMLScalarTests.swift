import Testing

@testable import AuditBatcher

/// One scalar as written in a policy and what the API server's decoder (go-yaml v2) makes of it.
struct ScalarCase: CustomTestStringConvertible, Sendable {
    let text: String
    var tag: String? = nil
    /// nil: go-yaml refuses the scalar.
    let value: GoYAMLScalar.Value?

    var testDescription: String { "\(tag.map { "\($0) " } ?? "")`\(text)`" }
}

private func plain(_ text: String, _ value: GoYAMLScalar.Value) -> ScalarCase {
    ScalarCase(text: text, value: value)
}

private func text(_ text: String) -> ScalarCase {
    ScalarCase(text: text, value: .string(text))
}

private func tagged(_ text: String, _ tag: String, _ value: GoYAMLScalar.Value?) -> ScalarCase {
    ScalarCase(text: text, tag: tag.hasPrefix("!!") ? "tag:yaml.org,2002:" + tag.dropFirst(2) : tag, value: value)
}

private let plainCases: [ScalarCase] = [
    // null: the words, and nothing at all
    plain("", .null), plain("~", .null), plain("null", .null), plain("Null", .null), plain("NULL", .null),
    text("nULL"), text("none"), text("Nil"),

    // booleans: YAML 1.1's words in three casings each, and nothing else
    plain("y", .bool(true)), plain("Y", .bool(true)), plain("yes", .bool(true)), plain("Yes", .bool(true)),
    plain("YES", .bool(true)), plain("true", .bool(true)), plain("True", .bool(true)), plain("TRUE", .bool(true)),
    plain("on", .bool(true)), plain("On", .bool(true)), plain("ON", .bool(true)),
    plain("n", .bool(false)), plain("N", .bool(false)), plain("no", .bool(false)), plain("No", .bool(false)),
    plain("NO", .bool(false)), plain("false", .bool(false)), plain("False", .bool(false)),
    plain("FALSE", .bool(false)), plain("off", .bool(false)), plain("Off", .bool(false)), plain("OFF", .bool(false)),
    text("yES"), text("tRUE"), text("oN"), text("oFF"), text("t"), text("f"), text("o"), text("nO"), text("yes!"),
    text("no way"),

    // decimal integers, signs, underscores anywhere after the first byte
    plain("0", .integer), plain("7", .integer), plain("-7", .integer), plain("+7", .integer), plain("-0", .integer),
    plain("12345", .integer), plain("1_000", .integer), plain("1__0", .integer), plain("1_", .integer),
    plain("9223372036854775807", .integer), plain("-9223372036854775808", .integer),
    plain("18446744073709551615", .integer), text("_1"), text("-"), text("+"), text("-_"), text("1 2"),
    text("1,000"), text("12:30"), text("1-2"),

    // prefixes: hex, octal (0o and the legacy leading 0), binary
    plain("0x1F", .integer), plain("0X1f", .integer), plain("-0x1F", .integer), plain("0x_1F", .integer),
    plain("0xFFFFFFFFFFFFFFFF", .integer), plain("0o17", .integer), plain("0O17", .integer), plain("+0o7", .integer),
    plain("017", .integer), plain("00", .integer), plain("0_7", .integer), plain("0b101", .integer),
    plain("0B101", .integer), plain("-0b101", .integer), plain("0b-101", .integer), plain("0b+101", .integer),
    plain("0b1_0", .integer), plain("+0", .integer), plain("1__", .integer),
    text("0x"), text("0o"), text("0b"), text("0b2"), text("0xG"), text("0o8"), text("-0b-101"), text("0x-1"),
    text("0o-7"), text("\u{663}"),

    // past 64 bits a decimal integer is a float, a prefixed one text
    plain("99999999999999999999", .float), plain("+18446744073709551616", .float),
    text("0x10000000000000000"), text("0o7777777777777777777777777"), text("-0x8000000000000001"),
    text("0b11111111111111111111111111111111111111111111111111111111111111111"),

    // a leading 0 with an 8 or 9 is no octal, but still a decimal float
    plain("08", .float), plain("0778", .float),

    // floats
    plain("1.5", .float), plain("-1.5", .float), plain("+1.5", .float), plain("1.", .float), plain("1.e5", .float),
    plain("1e5", .float), plain("1E+5", .float), plain("1e-5", .float), plain("0.0", .float),
    plain("1_0.5", .float), plain("1_000_000.5", .float), plain("-0.0", .float), plain("-.5", .float),
    plain("+.5e1", .float), plain("1e-400", .float),
    plain(".5", .float), plain(".5e3", .float), plain(".5E-3", .float), plain(".5_5", .float),
    plain(".5e1_0", .float),
    text("1e400"), text("-1e400"), text(".5e400"), text("1.5.6"), text("1e"), text("1e+"), text("0x1p3"),
    text("."), text(".e5"), text("._5"), text(".5_"), text(".5_e3"), text(".5e_1"), text("..5"), text(".5x"),
    text("1.7976931348623159e308"), plain("1.7976931348623157e308", .float),

    // infinity and not-a-number: only the dotted words
    plain(".inf", .float), plain(".Inf", .float), plain(".INF", .float), plain("+.inf", .float),
    plain("+.Inf", .float), plain("+.INF", .float), plain("-.inf", .float), plain("-.Inf", .float),
    plain("-.INF", .float), plain(".nan", .float), plain(".NaN", .float), plain(".NAN", .float),
    text(".Nan"), text(".iNF"), text("inf"), text("+inf"), text("-Infinity"), text("nan"), text("NaN"),

    // dates stay text (go-yaml v2 hands timestamps to JSON as the text)
    text("2001-12-14"), text("2001-12-14T21:59:43.10-05:00"), text("2001-12-14 21:59:43.10"),

    // everything else is text
    text("abc"), text("<<"), text("=="), text("kube-system"), text("system:serviceaccount:x"), text("caf\u{E9}"),
    text("/healthz"), text("*"), text("@x"), text("!x"), text("'"),
]

private let taggedCases: [ScalarCase] = [
    // !!str and the non-specific or unknown tags leave the text alone
    tagged("12345", "!!str", .string("12345")), tagged("yes", "!!str", .string("yes")),
    tagged("", "!!str", .string("")), tagged("~", "!!str", .string("~")), tagged("12", "!", .string("12")),
    tagged("true", "!custom", .string("true")), tagged("x", "!!map", .string("x")),
    tagged("<<", "!!merge", .string("<<")),

    // a type tag must agree with what the text resolves to
    tagged("12", "!!int", .integer), tagged("0x1F", "!!int", .integer), tagged("abc", "!!int", nil),
    tagged("1.5", "!!int", nil), tagged("yes", "!!bool", .bool(true)), tagged("OFF", "!!bool", .bool(false)),
    tagged("1", "!!bool", nil), tagged("~", "!!null", .null), tagged("", "!!null", .null),
    tagged("x", "!!null", nil), tagged("1.5", "!!float", .float), tagged(".inf", "!!float", .float),
    tagged("abc", "!!float", nil),
    // an integer may be a float, but only one that fits in 64 signed bits
    tagged("1", "!!float", .float), tagged("18446744073709551615", "!!float", nil),
    tagged("2001-12-14", "!!timestamp", .string("2001-12-14")), tagged("abc", "!!timestamp", nil),
    tagged("12", "!!timestamp", nil), tagged("2001-12-14", "!!int", nil),

    // !!binary is base64 for the text
    tagged("aGVsbG8=", "!!binary", .string("hello")), tagged("aGVs\nbG8=", "!!binary", .string("hello")),
    tagged("aGVsbG8", "!!binary", nil), tagged("!!", "!!binary", nil),
]

@Suite("go-yaml v2 scalar resolution")
struct GoYAMLScalarTests {
    @Test(arguments: plainCases + taggedCases)
    func scalarResolvesAsGoYAMLResolvesIt(_ row: ScalarCase) {
        let scalar = GoYAMLScalar(row.text, tag: row.tag)
        #expect((try? scalar.resolve()) == row.value)
    }

    @Test func refusalsQuoteGoYAML() {
        #expect(throws: GoYAMLScalar.Refusal(reason: "cannot decode !!str `abc` as a !!int")) {
            try GoYAMLScalar("abc", tag: "tag:yaml.org,2002:int").resolve()
        }
    }

    @Test func mergeKeyIsPlainOrTaggedMerge() {
        #expect(GoYAMLScalar("<<").isMergeKey)
        #expect(GoYAMLScalar("<<", tag: "tag:yaml.org,2002:merge").isMergeKey)
        #expect(!GoYAMLScalar("<<", tag: "tag:yaml.org,2002:str").isMergeKey)
        #expect(!GoYAMLScalar("<<<").isMergeKey)
    }
}
