import Testing

@testable import CommandLineFlags

@Suite struct ShorthandTests {
    let flags = FlagSet([
        .int("v", shorthand: "v", usage: "log level"),
        .bool("help", shorthand: "h", usage: "help"),
        .bool("all", shorthand: "a", usage: "all"),
        .string("output", shorthand: "o", usage: "format"),
    ])

    @Test func shorthandWithEqualsSetsTheValue() throws {
        #expect(try flags.parse(["-v=2"]).int("v") == 2)
    }

    @Test func shorthandWithSeparateArgumentSetsTheValue() throws {
        let parsed = try flags.parse(["-v", "2"])
        #expect(parsed.int("v") == 2)
        #expect(parsed.positional.isEmpty)
    }

    @Test func shorthandWithAttachedValueSetsTheValue() throws {
        #expect(try flags.parse(["-v2"]).int("v") == 2)
        #expect(try flags.parse(["-ojson"]).string("output") == "json")
    }

    @Test func shorthandAndLongNameSetTheSameFlag() throws {
        let parsed = try flags.parse(["-o", "json", "--output=yaml"])
        #expect(parsed.string("output") == "yaml")
        #expect(try flags.parse(["--help"]).bool("help"))
    }

    @Test func boolShorthandAloneMeansTrue() throws {
        let parsed = try flags.parse(["-h"])
        #expect(parsed.bool("help"))
        #expect(parsed.isSet("help"))
        #expect(!parsed.isSet("all"))
    }

    @Test func boolShorthandDoesNotConsumeNextArgument() throws {
        let parsed = try flags.parse(["-h", "false"])
        #expect(parsed.bool("help"))
        #expect(parsed.positional == ["false"])
    }

    @Test func boolShorthandAcceptsAnExplicitValue() throws {
        #expect(try flags.parse(["-h=false"]).bool("help") == false)
    }

    @Test func boolShorthandsCanBeCombined() throws {
        let parsed = try flags.parse(["-ha"])
        #expect(parsed.bool("help"))
        #expect(parsed.bool("all"))
    }

    @Test func combinedClusterMayEndWithAValueFlag() throws {
        let parsed = try flags.parse(["-hav3"])
        #expect(parsed.bool("help") && parsed.bool("all"))
        #expect(parsed.int("v") == 3)
        let separate = try flags.parse(["-ao", "wide"])
        #expect(separate.string("output") == "wide")
    }

    @Test func unknownShorthandErrorNamesTheLetter() {
        #expect(throws: FlagError.unknownShorthand("x", cluster: "x")) { try flags.parse(["-x"]) }
        #expect(FlagError.unknownShorthand("x", cluster: "x").description == "unknown shorthand flag: 'x' in -x")
    }

    @Test func unknownShorthandInsideAClusterNamesTheRestOfTheCluster() {
        #expect(throws: FlagError.unknownShorthand("x", cluster: "xa")) { try flags.parse(["-hxa"]) }
    }

    @Test func negativeNumberIsNotPositionalButAnUnknownShorthand() {
        #expect(throws: FlagError.unknownShorthand("5", cluster: "5")) { try flags.parse(["-5"]) }
    }

    @Test func shorthandWithoutItsValueAtTheEndIsAnError() {
        #expect(throws: FlagError.missingShorthandArgument("v", cluster: "v")) { try flags.parse(["-v"]) }
        #expect(
            FlagError.missingShorthandArgument("v", cluster: "v").description == "flag needs an argument: 'v' in -v")
    }

    @Test func invalidShorthandValueErrorShowsBothNames() {
        let expected = FlagError.invalidArgument(value: "loud", flag: "v", shorthand: "v", reason: "not an integer")
        #expect(throws: expected) { try flags.parse(["-v", "loud"]) }
        #expect(expected.description == #"invalid argument "loud" for "-v, --v" flag: not an integer"#)
    }

    @Test func longSpellingOfAFlagWithShorthandAlsoReportsBothNames() {
        let expected = FlagError.invalidArgument(value: "x", flag: "v", shorthand: "v", reason: "not an integer")
        #expect(throws: expected) { try flags.parse(["--v=x"]) }
    }
}
