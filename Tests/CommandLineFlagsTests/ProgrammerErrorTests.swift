import Testing

@testable import CommandLineFlags

/// Misuse by the calling code traps instead of quietly yielding a default, so it is caught the first time it runs.
@Suite struct ProgrammerErrorTests {
    @Test func readingAnUndeclaredFlagTraps() async {
        await #expect(processExitsWith: .failure) {
            let parsed = try FlagSet([.bool("known", usage: "")]).parse([])
            _ = parsed.bool("unknown")
        }
    }

    @Test func askingWhetherAnUndeclaredFlagIsSetTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = try FlagSet().parse([]).isSet("unknown")
        }
    }

    @Test func readingAFlagWithTheWrongAccessorTraps() async {
        await #expect(processExitsWith: .failure) {
            let parsed = try FlagSet([.int("port", usage: "")]).parse([])
            _ = parsed.string("port")
        }
    }

    @Test func declaringTheSameNameTwiceTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = FlagSet([.bool("twice", usage: ""), .int("twice", usage: "")])
        }
    }

    @Test func declaringTheSameShorthandTwiceTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = FlagSet([.bool("a", shorthand: "x", usage: ""), .bool("b", shorthand: "x", usage: "")])
        }
    }

    @Test func defaultOfAnotherKindTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = FlagSpec(name: "port", kind: .int, default: .string("443"), usage: "")
        }
    }

    @Test(arguments: ["", "-dash", "with=equals"])
    func malformedNameTraps(name: String) async {
        await #expect(processExitsWith: .failure) { [name] in
            _ = FlagSpec.bool(name, usage: "")
        }
    }
}
