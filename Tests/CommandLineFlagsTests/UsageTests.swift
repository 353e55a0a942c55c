import Testing

@testable import CommandLineFlags

@Suite struct UsageTests {
    @Test func usageMatchesPflagLayout() {
        let flags = FlagSet([
            .string("oidc-username-prefix", default: "oidc:", usage: "prefix for usernames"),
            .int("v", shorthand: "v", default: 2, usage: "log level"),
            .bool("help", shorthand: "h", usage: "help for kube-oidc-proxy"),
            .duration("audit-webhook-batch-max-wait", default: .seconds(30), usage: "longest wait"),
            .bool("legacy", usage: "kept for compatibility", hidden: true),
        ])
        let expected = """
                  --audit-webhook-batch-max-wait duration   longest wait (default 30s)
              -h, --help                                    help for kube-oidc-proxy
                  --oidc-username-prefix string             prefix for usernames (default "oidc:")
              -v, --v int                                   log level (default 2)

            """
        #expect(flags.usage() == expected)
    }

    @Test func usageListsEveryVisibleFlagWithItsDefault() {
        let flags = FlagSet([
            .bool("enable-thing", default: true, usage: "bool on"),
            .string("prefix", default: "sub", usage: "string"),
            .int("port", default: 8443, usage: "int"),
            .float("qps", default: 10.5, usage: "float"),
            .duration("short", default: .milliseconds(50), usage: "ms"),
            .duration("medium", default: .seconds(300), usage: "minutes"),
            .duration("long", default: .seconds(5_400), usage: "hours"),
            .stringList("groups", default: ["a", "b,c"], usage: "list"),
            .stringArray("headers", default: ["X: 1"], usage: "array"),
            .keyValues("claims", default: [KeyValuePair(key: "a", value: "1")], usage: "pairs"),
            .byteQuantity("max-bytes", default: 3 << 20, usage: "bytes"),
        ])
        let usage = flags.usage()
        let expectations = [
            "--enable-thing ", "bool on (default true)",
            "--prefix string ", #"string (default "sub")"#,
            "--port int ", "int (default 8443)",
            "--qps float ", "float (default 10.5)",
            "--short duration ", "ms (default 50ms)",
            "--medium duration ", "minutes (default 5m0s)",
            "--long duration ", "hours (default 1h30m0s)",
            "--groups strings ", #"list (default [a,"b,c"])"#,
            "--headers stringArray ", "array (default [X: 1])",
            "--claims mapStringString ", "pairs (default a=1)",
            "--max-bytes quantity ", "bytes (default 3Mi)",
        ]
        for fragment in expectations {
            #expect(usage.contains(fragment), "missing \(fragment)")
        }
        #expect(usage.split(separator: "\n").count == 11)
    }

    @Test func usageIsSortedByName() {
        let flags = FlagSet([.bool("zeta", usage: ""), .bool("alpha", usage: ""), .bool("mid", usage: "")])
        let names = flags.usage().split(separator: "\n").map { $0.trimmingPrefix(while: \.isWhitespace) }
        #expect(names.map { $0.prefix(while: { !$0.isWhitespace }) } == ["--alpha", "--mid", "--zeta"])
    }

    @Test func hiddenFlagsAreLeftOutOfUsageButStillParse() throws {
        let flags = FlagSet([.bool("visible", usage: "v"), .bool("secret", usage: "s", hidden: true)])
        #expect(!flags.usage().contains("secret"))
        #expect(!flags.markdownTable().contains("secret"))
        #expect(try flags.parse(["--secret"]).bool("secret"))
    }

    @Test func zeroDefaultsAreOmitted() {
        let flags = FlagSet([
            .bool("b", usage: "u"), .string("s", usage: "u"), .int("i", usage: "u"), .float("f", usage: "u"),
            .duration("d", usage: "u"), .stringList("l", usage: "u"), .stringArray("a", usage: "u"),
            .keyValues("k", usage: "u"), .byteQuantity("q", usage: "u"),
        ])
        #expect(!flags.usage().contains("default"))
        #expect(flags.flags.allSatisfy { $0.defaultText == nil })
    }

    @Test func boolFlagsShowNoTypeWord() {
        let usage = FlagSet([.bool("insecure", usage: "skip")]).usage()
        #expect(usage == "      --insecure   skip\n")
    }

    @Test func backquotedWordReplacesTheTypeName() {
        let usage = FlagSet([.string("key", usage: "path to the `file` holding the key")]).usage()
        #expect(usage == "      --key file   path to the file holding the key\n")
    }

    @Test func multiLineUsageIsIndentedToTheDescriptionColumn() {
        let usage = FlagSet([.bool("x", usage: "first\nsecond")]).usage()
        #expect(usage == "      --x   first\n            second\n")
    }

    @Test func stringDefaultIsQuotedAndEscaped() {
        let usage = FlagSet([.string("sep", default: "a\"b\n", usage: "sep")]).usage()
        #expect(usage.contains(#"(default "a\"b\n")"#))
    }

    @Test func emptyFlagSetHasEmptyUsage() {
        #expect(FlagSet().usage() == "")
    }

    @Test func markdownTableListsNameTypeDefaultAndUsage() {
        let flags = FlagSet([
            .duration("flush-interval", default: .seconds(30), usage: "how often"),
            .int("v", shorthand: "v", usage: "log level"),
            .bool("insecure", default: true, usage: "a | b\nc"),
            .string("prefix", default: "oidc:", usage: "the `prefix`"),
        ])
        let expected = """
            | Flag | Type | Default | Description |
            | --- | --- | --- | --- |
            | `--flush-interval` | duration | `30s` | how often |
            | `--insecure` | bool | `true` | a \\| b<br>c |
            | `--prefix` | prefix | `"oidc:"` | the `prefix` |
            | `-v`, `--v` | int |  | log level |

            """
        #expect(flags.markdownTable() == expected)
    }
}

@Suite struct GoFloatFormattingTests {
    @Test(
        arguments: [
            (0, "0"), (-0.0, "-0"), (5, "5"), (10.5, "10.5"), (-2.5, "-2.5"), (0.1, "0.1"), (100_000, "100000"),
            (123_456, "123456"), (1_000_000, "1e+06"), (1_234_567, "1.234567e+06"), (0.0001, "0.0001"),
            (0.00001, "1e-05"), (0.000123, "0.000123"), (1e21, "1e+21"), (1.5e-10, "1.5e-10"), (1e100, "1e+100"),
            (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"),
        ] as [(Double, String)])
    func formatsAsGoStrconvShortest(value: Double, expected: String) {
        #expect(formatGoFloat(value) == expected)
    }
}

@Suite struct GoQuotingTests {
    @Test(arguments: [
        ("abc", #""abc""#), ("", #""""#), ("a\"b", #""a\"b""#), ("a\\b", #""a\\b""#), ("a\nb\tc", #""a\nb\tc""#),
        ("\u{01}", #""\x01""#), ("\u{2028}", #""\u2028""#), ("µs", #""µs""#),
    ])
    func quotesAsGoPercentQDoes(text: String, expected: String) {
        #expect(goQuote(text) == expected)
    }

    @Test func runesUseSingleQuotes() {
        #expect(goQuote(Character("x")) == "'x'")
        #expect(goQuote(Character("'")) == #"'\''"#)
    }

    @Test func errorDescriptionsStayOnOneLine() {
        let errors: [FlagError] = [
            .unknownFlag("a\nb"),
            .unknownShorthand("\n", cluster: "\nx"),
            .missingArgument(flag: "name"),
            .missingShorthandArgument("v", cluster: "v"),
            .invalidArgument(value: "line1\nline2", flag: "f", shorthand: nil, reason: "bad\nreason"),
            .badSyntax("---\n"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"), "\(error.description)")
        }
    }
}
