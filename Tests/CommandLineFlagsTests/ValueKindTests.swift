import Testing

@testable import CommandLineFlags

@Suite struct IntFlagTests {
    let flags = FlagSet([.int("secure-port", default: 443, usage: "port")])

    @Test(arguments: [("8443", 8443), ("-1", -1), ("+7", 7), ("0", 0), ("-0", 0), ("0443", 443)])
    func decimalIntegersAreAccepted(text: String, expected: Int) throws {
        #expect(try flags.parse(["--secure-port=\(text)"]).int("secure-port") == expected)
    }

    @Test func extremesOfGoIntAreAccepted() throws {
        #expect(try flags.parse(["--secure-port=9223372036854775807"]).int("secure-port") == Int.max)
        #expect(try flags.parse(["--secure-port=-9223372036854775808"]).int("secure-port") == Int.min)
    }

    @Test(arguments: ["abc", "", "1.5", "0x10", "1_000", " 1", "1 ", "--1", "12abc"])
    func nonIntegersAreInvalid(text: String) {
        let expected = FlagError.invalidArgument(
            value: text, flag: "secure-port", shorthand: nil, reason: "not an integer")
        #expect(throws: expected) { try flags.parse(["--secure-port=\(text)"]) }
    }

    @Test(arguments: ["9223372036854775808", "-9223372036854775809", "99999999999999999999999"])
    func integersBeyondGoIntAreOutOfRange(text: String) {
        let expected = FlagError.invalidArgument(
            value: text, flag: "secure-port", shorthand: nil, reason: "value out of range")
        #expect(throws: expected) { try flags.parse(["--secure-port=\(text)"]) }
    }
}

@Suite struct FloatFlagTests {
    let flags = FlagSet([.float("qps", default: 5, usage: "throttle")])

    @Test(arguments: [("10.5", 10.5), ("10", 10.0), ("-0.25", -0.25), ("1e3", 1000.0), (".5", 0.5)])
    func goFloatSpellingsAreAccepted(text: String, expected: Double) throws {
        #expect(try flags.parse(["--qps=\(text)"]).double("qps") == expected)
    }

    @Test func defaultIsReturnedWhenAbsent() throws {
        #expect(try flags.parse([]).double("qps") == 5)
    }

    @Test(arguments: ["abc", "", "1,5", "10qps"])
    func nonNumbersAreInvalid(text: String) {
        let expected = FlagError.invalidArgument(value: text, flag: "qps", shorthand: nil, reason: "not a number")
        #expect(throws: expected) { try flags.parse(["--qps=\(text)"]) }
    }

    @Test func overflowingFloatIsOutOfRange() {
        let expected = FlagError.invalidArgument(
            value: "1e999", flag: "qps", shorthand: nil, reason: "value out of range")
        #expect(throws: expected) { try flags.parse(["--qps=1e999"]) }
    }
}

@Suite struct DurationFlagTests {
    let flags = FlagSet([.duration("flush-interval", default: .seconds(30), usage: "interval")])

    @Test func durationFlagParsesGoSyntax() throws {
        #expect(try flags.parse(["--flush-interval=1h30m"]).duration("flush-interval") == .seconds(5400))
        #expect(try flags.parse(["--flush-interval", "50ms"]).duration("flush-interval") == .milliseconds(50))
    }

    @Test func durationDefaultIsReturnedWhenAbsent() throws {
        #expect(try flags.parse([]).duration("flush-interval") == .seconds(30))
    }

    @Test func unknownUnitErrorNamesFlagAndUnit() {
        let expected = FlagError.invalidArgument(
            value: "5x", flag: "flush-interval", shorthand: nil, reason: #"unknown unit "x" in duration "5x""#)
        #expect(throws: expected) { try flags.parse(["--flush-interval=5x"]) }
        #expect(
            expected.description
                == #"invalid argument "5x" for "--flush-interval" flag: unknown unit "x" in duration "5x""#)
    }
}

@Suite struct StringListFlagTests {
    let flags = FlagSet([
        .stringList("groups", usage: "groups"),
        .stringList("cipher-suites", default: ["A", "B"], usage: "suites"),
    ])

    @Test func commaSeparatedValueIsSplit() throws {
        #expect(try flags.parse(["--groups=x,y"]).strings("groups") == ["x", "y"])
    }

    @Test func occurrencesAppend() throws {
        #expect(try flags.parse(["--groups=x,y", "--groups", "z"]).strings("groups") == ["x", "y", "z"])
    }

    @Test func firstOccurrenceReplacesTheDefault() throws {
        let parsed = try flags.parse(["--cipher-suites=C", "--cipher-suites=D"])
        #expect(parsed.strings("cipher-suites") == ["C", "D"])
    }

    @Test func defaultIsReturnedWhenAbsent() throws {
        let parsed = try flags.parse([])
        #expect(parsed.strings("cipher-suites") == ["A", "B"])
        #expect(parsed.strings("groups") == [])
    }

    @Test func emptyValueClearsTheDefault() throws {
        let parsed = try flags.parse(["--cipher-suites="])
        #expect(parsed.strings("cipher-suites") == [])
        #expect(parsed.isSet("cipher-suites"))
    }

    @Test func emptyItemsAndSpacesAreKeptAsCSVDoes() throws {
        #expect(try flags.parse(["--groups=a,,b, c,"]).strings("groups") == ["a", "", "b", " c", ""])
    }

    @Test func quotedItemMayContainCommasAndQuotes() throws {
        let parsed = try flags.parse([#"--groups="a,b",c,"say ""hi""""#])
        #expect(parsed.strings("groups") == ["a,b", "c", #"say "hi""#])
    }

    @Test(arguments: [
        (#""open"#, "unterminated quoted field"),
        (#"a"b"#, #"bare " in non-quoted field"#),
        (#""a"b"#, #"extraneous " after quoted field"#),
    ])
    func malformedQuotingIsInvalid(text: String, reason: String) {
        let expected = FlagError.invalidArgument(value: text, flag: "groups", shorthand: nil, reason: reason)
        #expect(throws: expected) { try flags.parse(["--groups=\(text)"]) }
    }
}

@Suite struct StringArrayFlagTests {
    let flags = FlagSet([.stringArray("header", default: ["X-Default: 1"], usage: "headers")])

    @Test func valuesAreNotSplitOnCommas() throws {
        #expect(try flags.parse(["--header=Accept: a,b"]).strings("header") == ["Accept: a,b"])
    }

    @Test func occurrencesAppendAfterReplacingTheDefault() throws {
        let parsed = try flags.parse(["--header", "A: 1", "--header=B: 2,3"])
        #expect(parsed.strings("header") == ["A: 1", "B: 2,3"])
    }

    @Test func quotesAreKeptLiterally() throws {
        #expect(try flags.parse([#"--header="x""#]).strings("header") == [#""x""#])
    }

    @Test func defaultIsReturnedWhenAbsent() throws {
        #expect(try flags.parse([]).strings("header") == ["X-Default: 1"])
    }
}

@Suite struct KeyValuesFlagTests {
    let flags = FlagSet([
        .keyValues("required-claim", usage: "claims"),
        .keyValues("extra", default: [KeyValuePair(key: "d", value: "1")], usage: "extra"),
    ])

    private func pairs(_ items: (String, String)...) -> [KeyValuePair] {
        items.map { KeyValuePair(key: $0.0, value: $0.1) }
    }

    @Test func pairsAreParsedInOrder() throws {
        let parsed = try flags.parse(["--required-claim=b=2,a=1"])
        #expect(parsed.keyValues("required-claim") == pairs(("b", "2"), ("a", "1")))
    }

    @Test func occurrencesAppendAndDuplicateKeysAreKept() throws {
        let parsed = try flags.parse(["--required-claim=a=1", "--required-claim", "a=2,b=3"])
        #expect(parsed.keyValues("required-claim") == pairs(("a", "1"), ("a", "2"), ("b", "3")))
    }

    @Test func firstOccurrenceReplacesTheDefault() throws {
        #expect(try flags.parse(["--extra=e=2"]).keyValues("extra") == pairs(("e", "2")))
        #expect(try flags.parse([]).keyValues("extra") == pairs(("d", "1")))
    }

    @Test func valueMayContainEqualsAndBeEmpty() throws {
        let parsed = try flags.parse(["--required-claim=k=a=b,empty="])
        #expect(parsed.keyValues("required-claim") == pairs(("k", "a=b"), ("empty", "")))
    }

    /// Kubernetes' `MapStringString` with `NoSplit`: each occurrence one pair, its value whole.
    @Test func aPairPerOccurrenceKeepsCommasInTheValue() throws {
        let whole = FlagSet([.keyValuePerOccurrence("claim", usage: "claims")])
        let parsed = try whole.parse(["--claim=tenant=acme,role=admin", "--claim", " b = 2 "])
        #expect(parsed.keyValues("claim") == pairs(("tenant", "acme,role=admin"), ("b", "2")))
        #expect(throws: (any Error).self) { try whole.parse(["--claim=no-equals"]) }
        #expect(throws: (any Error).self) { try whole.parse(["--claim==value"]) }
    }

    @Test func whitespaceAroundKeysAndValuesIsTrimmedAndEmptyItemsSkipped() throws {
        let parsed = try flags.parse(["--required-claim= a = 1 ,, b=2,"])
        #expect(parsed.keyValues("required-claim") == pairs(("a", "1"), ("b", "2")))
    }

    @Test func pairWithoutEqualsIsInvalid() {
        let expected = FlagError.invalidArgument(
            value: "a=1,oops", flag: "required-claim", shorthand: nil,
            reason: #"malformed pair "oops", expected key=value"#)
        #expect(throws: expected) { try flags.parse(["--required-claim=a=1,oops"]) }
        #expect(
            expected.description
                == #"invalid argument "a=1,oops" for "--required-claim" flag: malformed pair "oops", expected key=value"#
        )
    }

    @Test(arguments: ["=v", " =v"])
    func emptyKeyIsInvalid(text: String) {
        let expected = FlagError.invalidArgument(
            value: text, flag: "required-claim", shorthand: nil, reason: "empty key in pair \(goQuote(text))")
        #expect(throws: expected) { try flags.parse(["--required-claim=\(text)"]) }
    }

    @Test func pairDescriptionIsKeyEqualsValue() {
        #expect(KeyValuePair(key: "k", value: "v").description == "k=v")
    }
}

@Suite struct ByteQuantityFlagTests {
    let flags = FlagSet([.byteQuantity("max-body", default: 1 << 20, usage: "limit")])

    @Test func quantityIsParsed() throws {
        #expect(try flags.parse(["--max-body=256Mi"]).bytes("max-body") == 268_435_456)
        #expect(try flags.parse([]).bytes("max-body") == 1_048_576)
    }

    @Test func negativeQuantityErrorNamesTheFlag() {
        let expected = FlagError.invalidArgument(
            value: "-1", flag: "max-body", shorthand: nil, reason: #"byte quantity "-1" must not be negative"#)
        #expect(throws: expected) { try flags.parse(["--max-body=-1"]) }
    }
}

@Suite struct StringFlagTests {
    let flags = FlagSet([.string("username-prefix", default: "oidc:", usage: "prefix")])

    @Test func anyTextIsAValidString() throws {
        for text in ["", " spaced ", "a,b", "-dash", "ünïcödé", "=", "line\nbreak"] {
            #expect(try flags.parse(["--username-prefix", text]).string("username-prefix") == text)
        }
    }
}

@Suite struct FlagValueTests {
    @Test func valuesFitOnlyTheirKinds() {
        #expect(FlagValue.strings([]).fits(.stringList))
        #expect(FlagValue.strings([]).fits(.stringArray))
        #expect(!FlagValue.strings([]).fits(.keyValues))
        #expect(FlagValue.bytes(1).fits(.byteQuantity))
        #expect(!FlagValue.int(1).fits(.byteQuantity))
        #expect(FlagValue.float(1).fits(.float))
        #expect(FlagValue.duration(.zero).fits(.duration))
    }

    @Test func typedFactoriesDeclareTheMatchingKind() {
        let specs: [(FlagSpec, FlagKind)] = [
            (.bool("a", usage: ""), .bool), (.string("a", usage: ""), .string), (.int("a", usage: ""), .int),
            (.float("a", usage: ""), .float), (.duration("a", usage: ""), .duration),
            (.stringList("a", usage: ""), .stringList), (.stringArray("a", usage: ""), .stringArray),
            (.keyValues("a", usage: ""), .keyValues), (.keyValuePerOccurrence("a", usage: ""), .keyValuePerOccurrence),
            (.byteQuantity("a", usage: ""), .byteQuantity),
        ]
        for (spec, kind) in specs {
            #expect(spec.kind == kind)
            #expect(spec.defaultValue.fits(kind))
        }
        #expect(specs.count == FlagKind.allCases.count)
    }

    @Test func onlyListKindsAccumulate() {
        let accumulating = FlagKind.allCases.filter(\.accumulates)
        #expect(Set(accumulating) == [.stringList, .stringArray, .keyValues, .keyValuePerOccurrence])
    }
}
