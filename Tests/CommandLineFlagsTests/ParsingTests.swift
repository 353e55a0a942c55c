import Testing

@testable import CommandLineFlags

@Suite struct ParsingTests {
    let flags = FlagSet([
        .string("oidc-issuer-url", usage: "issuer"),
        .int("secure-port", default: 443, usage: "port"),
        .bool("verbose", usage: "chatty"),
    ])

    @Test func equalsFormSetsTheValue() throws {
        let parsed = try flags.parse(["--oidc-issuer-url=https://issuer.example"])
        #expect(parsed.string("oidc-issuer-url") == "https://issuer.example")
    }

    @Test func separateArgumentFormSetsTheValue() throws {
        let parsed = try flags.parse(["--oidc-issuer-url", "https://issuer.example"])
        #expect(parsed.string("oidc-issuer-url") == "https://issuer.example")
        #expect(parsed.positional.isEmpty)
    }

    @Test func valueAfterEqualsMayContainEquals() throws {
        let parsed = try flags.parse(["--oidc-issuer-url=a=b=c"])
        #expect(parsed.string("oidc-issuer-url") == "a=b=c")
    }

    @Test func equalsWithNothingAfterItSetsAnEmptyString() throws {
        let parsed = try FlagSet([.string("prefix", default: "oidc:", usage: "")]).parse(["--prefix="])
        #expect(parsed.string("prefix") == "")
        #expect(parsed.isSet("prefix"))
    }

    @Test func separateValueIsTakenEvenWhenItLooksLikeAFlag() throws {
        let parsed = try flags.parse(["--secure-port", "-5", "--oidc-issuer-url", "--verbose"])
        #expect(parsed.int("secure-port") == -5)
        #expect(parsed.string("oidc-issuer-url") == "--verbose")
        #expect(!parsed.isSet("verbose"))
    }

    @Test func defaultIsReturnedWhenFlagIsAbsent() throws {
        let parsed = try flags.parse([])
        #expect(parsed.int("secure-port") == 443)
        #expect(parsed.string("oidc-issuer-url") == "")
        #expect(parsed.bool("verbose") == false)
    }

    @Test func isSetDistinguishesGivenFromDefaulted() throws {
        let parsed = try flags.parse(["--secure-port=443"])
        #expect(parsed.isSet("secure-port"))
        #expect(!parsed.isSet("oidc-issuer-url"))
        #expect(!parsed.isSet("verbose"))
    }

    @Test func valueReturnsTheTypedEnum() throws {
        let parsed = try flags.parse(["--secure-port=8443"])
        #expect(parsed.value("secure-port") == .int(8443))
        #expect(parsed.value("verbose") == .bool(false))
    }

    @Test func repeatedNonRepeatableFlagKeepsTheLastValue() throws {
        let parsed = try flags.parse(["--secure-port=1", "--secure-port", "2", "--secure-port=3"])
        #expect(parsed.int("secure-port") == 3)
    }

    @Test func nonFlagArgumentsArePositionalInOrder() throws {
        let parsed = try flags.parse(["dev", "--verbose", "extra", "--secure-port=1", "last"])
        #expect(parsed.positional == ["dev", "extra", "last"])
        #expect(parsed.bool("verbose"))
    }

    @Test func doubleDashEndsFlagParsing() throws {
        let parsed = try flags.parse(["--verbose", "--", "--secure-port=1", "-x", "--", "dev"])
        #expect(parsed.bool("verbose"))
        #expect(!parsed.isSet("secure-port"))
        #expect(parsed.positional == ["--secure-port=1", "-x", "--", "dev"])
    }

    @Test func doubleDashAsLastArgumentLeavesNoPositional() throws {
        let parsed = try flags.parse(["--verbose", "--"])
        #expect(parsed.positional.isEmpty)
    }

    @Test func loneDashIsPositional() throws {
        let parsed = try flags.parse(["-"])
        #expect(parsed.positional == ["-"])
    }

    @Test func emptyArgumentIsPositional() throws {
        let parsed = try flags.parse([""])
        #expect(parsed.positional == [""])
    }

    @Test func emptyCommandLineGivesDefaultsAndNoPositional() throws {
        let parsed = try flags.parse([])
        #expect(parsed.positional.isEmpty)
    }

    @Test func unknownFlagErrorNamesTheFlag() {
        #expect(throws: FlagError.unknownFlag("oidc-issuer")) { try flags.parse(["--oidc-issuer=x"]) }
        #expect(throws: FlagError.unknownFlag("oidc-issuer")) { try flags.parse(["--oidc-issuer", "x"]) }
        #expect(FlagError.unknownFlag("oidc-issuer").description == "unknown flag: --oidc-issuer")
    }

    @Test func flagNamesAreCaseSensitive() {
        #expect(throws: FlagError.unknownFlag("Verbose")) { try flags.parse(["--Verbose"]) }
    }

    @Test func flagWithoutItsValueAtTheEndIsAnError() {
        #expect(throws: FlagError.missingArgument(flag: "secure-port")) { try flags.parse(["--secure-port"]) }
        #expect(
            FlagError.missingArgument(flag: "secure-port").description == "flag needs an argument: --secure-port")
    }

    @Test func invalidIntegerErrorQuotesValueAndFlag() {
        let expected = FlagError.invalidArgument(
            value: "abc", flag: "secure-port", shorthand: nil, reason: "not an integer")
        #expect(throws: expected) { try flags.parse(["--secure-port=abc"]) }
        #expect(expected.description == #"invalid argument "abc" for "--secure-port" flag: not an integer"#)
    }

    @Test func errorStopsParsingAtTheFirstBadArgument() {
        #expect(throws: FlagError.unknownFlag("first")) { try flags.parse(["--first", "--second"]) }
    }

    @Test(arguments: ["---verbose", "--=value", "--=", "----"])
    func malformedLongFlagIsBadSyntax(argument: String) {
        #expect(throws: FlagError.badSyntax(argument)) { try flags.parse([argument]) }
        #expect(FlagError.badSyntax(argument).description == "bad flag syntax: \(argument)")
    }

    @Test func flagSetKeepsDeclarationOrderAndLooksUpByName() {
        #expect(flags.flags.map(\.name) == ["oidc-issuer-url", "secure-port", "verbose"])
        #expect(flags.spec(named: "secure-port")?.defaultValue == .int(443))
        #expect(flags.spec(named: "missing") == nil)
    }

    @Test func flagsCanBeAddedAfterCreation() throws {
        var set = FlagSet()
        set.add(.bool("extra", usage: "added later"))
        #expect(try set.parse(["--extra"]).bool("extra"))
    }
}
