import Testing

@testable import CommandLineFlags

@Suite struct BoolFlagTests {
    let flags = FlagSet([
        .bool("insecure", usage: "skip checks"),
        .bool("enabled", default: true, usage: "on by default"),
    ])

    @Test func boolFlagAloneMeansTrue() throws {
        let parsed = try flags.parse(["--insecure"])
        #expect(parsed.bool("insecure"))
        #expect(parsed.isSet("insecure"))
    }

    @Test func boolFlagDefaultsToItsDeclaredDefault() throws {
        let parsed = try flags.parse([])
        #expect(parsed.bool("insecure") == false)
        #expect(parsed.bool("enabled") == true)
    }

    @Test func boolFlagCanBeTurnedOffWithEquals() throws {
        let parsed = try flags.parse(["--enabled=false"])
        #expect(parsed.bool("enabled") == false)
        #expect(parsed.isSet("enabled"))
    }

    @Test func boolFlagDoesNotConsumeNextArgument() throws {
        let parsed = try flags.parse(["--enabled", "false"])
        #expect(parsed.bool("enabled") == true)
        #expect(parsed.positional == ["false"])
    }

    @Test(arguments: ["1", "t", "T", "true", "TRUE", "True"])
    func goTrueSpellingsAreAccepted(text: String) throws {
        #expect(try flags.parse(["--insecure=\(text)"]).bool("insecure") == true)
    }

    @Test(arguments: ["0", "f", "F", "false", "FALSE", "False"])
    func goFalseSpellingsAreAccepted(text: String) throws {
        #expect(try flags.parse(["--enabled=\(text)"]).bool("enabled") == false)
    }

    @Test(arguments: ["", "yes", "no", "tRUE", "2", "on", " true"])
    func otherBoolSpellingsAreInvalid(text: String) {
        let expected = FlagError.invalidArgument(value: text, flag: "insecure", shorthand: nil, reason: "not a boolean")
        #expect(throws: expected) { try flags.parse(["--insecure=\(text)"]) }
    }

    @Test func lastBoolOccurrenceWins() throws {
        #expect(try flags.parse(["--insecure", "--insecure=false"]).bool("insecure") == false)
        #expect(try flags.parse(["--insecure=false", "--insecure"]).bool("insecure") == true)
    }
}
