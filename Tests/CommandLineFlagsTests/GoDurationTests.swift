import Testing

@testable import CommandLineFlags

@Suite struct GoDurationParsingTests {
    static let valid: [(String, Duration)] = [
        ("0", .zero),
        ("-0", .zero),
        ("+0", .zero),
        ("0s", .zero),
        ("5s", .seconds(5)),
        ("+5s", .seconds(5)),
        ("-5s", .seconds(-5)),
        ("300ms", .milliseconds(300)),
        ("50ms", .milliseconds(50)),
        ("10us", .microseconds(10)),
        ("10\u{00B5}s", .microseconds(10)),
        ("10\u{03BC}s", .microseconds(10)),
        ("5ns", .nanoseconds(5)),
        ("15m", .seconds(900)),
        ("16h", .seconds(57_600)),
        ("1h30m", .seconds(5_400)),
        ("2h45m", .seconds(9_900)),
        ("1.5h", .seconds(5_400)),
        ("-1.5h", .seconds(-5_400)),
        (".5s", .milliseconds(500)),
        ("5.s", .seconds(5)),
        ("5.0s", .seconds(5)),
        ("5.6s", .milliseconds(5_600)),
        ("1.004s", .milliseconds(1_004)),
        ("100.00100s", .milliseconds(100_001)),
        ("10.5s4m", .milliseconds(250_500)),
        ("-2m3.4s", .milliseconds(-123_400)),
        ("1h2m3s4ms5us6ns", .nanoseconds(3_723_004_005_006)),
        ("0.3333333333333333333h", .seconds(1_200)),
        ("0.100000000000000000000h", .seconds(360)),
        ("9007199254740993ns", .nanoseconds(9_007_199_254_740_993)),
        ("9223372036854775807ns", .nanoseconds(Int64.max)),
        ("9223372036854775.807us", .nanoseconds(Int64.max)),
        ("9223372036s854ms775us807ns", .nanoseconds(Int64.max)),
        ("-9223372036854775808ns", .nanoseconds(Int64.min)),
        ("-9223372036854775.808us", .nanoseconds(Int64.min)),
        ("-2562047h47m16.854775808s", .nanoseconds(Int64.min)),
    ]

    @Test(arguments: valid)
    func goDurationSyntaxIsAccepted(text: String, expected: Duration) throws {
        #expect(try parseGoDuration(text) == expected)
    }

    @Test(arguments: ["", "-", "+", "s", ".", "-.", ".s", "+.s", "s5"])
    func textWithoutANumberIsInvalid(text: String) {
        #expect(throws: ValueSyntaxError("invalid duration \(goQuote(text))")) { try parseGoDuration(text) }
    }

    @Test func emptyDurationErrorQuotesTheText() {
        #expect(throws: ValueSyntaxError(#"invalid duration """#)) { try parseGoDuration("") }
    }

    @Test(arguments: ["5", "1h5", "-3", "0.5", "00", "1..5s"])
    func numberWithoutAUnitIsAnErrorExceptBareZero(text: String) {
        #expect(throws: ValueSyntaxError("missing unit in duration \(goQuote(text))")) { try parseGoDuration(text) }
    }

    @Test(arguments: [("1x", "x"), ("5x", "x"), ("1d", "d"), ("1 s", " s"), ("1S", "S"), ("1h30mins", "mins")])
    func unknownUnitIsAnErrorNamingTheUnit(text: String, unit: String) {
        #expect(throws: ValueSyntaxError("unknown unit \(goQuote(unit)) in duration \(goQuote(text))")) {
            try parseGoDuration(text)
        }
    }

    @Test(arguments: [
        "9223372036854775808ns", "9223372036854775.808us", "9223372036854ms775us808ns", "-9223372036854775809ns",
        "2562048h", "99999999999999999999h",
    ])
    func durationsBeyondInt64NanosecondsAreInvalid(text: String) {
        #expect(throws: ValueSyntaxError("invalid duration \(goQuote(text))")) { try parseGoDuration(text) }
    }
}

@Suite struct GoDurationFormattingTests {
    static let cases: [(Duration, String)] = [
        (.zero, "0s"),
        (.nanoseconds(1), "1ns"),
        (.nanoseconds(5), "5ns"),
        (.nanoseconds(1_100), "1.1\u{00B5}s"),
        (.microseconds(10), "10\u{00B5}s"),
        (.microseconds(2_200), "2.2ms"),
        (.milliseconds(50), "50ms"),
        (.milliseconds(3_300), "3.3s"),
        (.milliseconds(1_500), "1.5s"),
        (.seconds(30), "30s"),
        (.seconds(60), "1m0s"),
        (.seconds(245), "4m5s"),
        (.milliseconds(245_001), "4m5.001s"),
        (.seconds(300), "5m0s"),
        (.seconds(5_400), "1h30m0s"),
        (.milliseconds(18_367_001), "5h6m7.001s"),
        (.seconds(480) + .nanoseconds(1), "8m0.000000001s"),
        (.seconds(-5), "-5s"),
        (.milliseconds(-50), "-50ms"),
        (.seconds(-5_400), "-1h30m0s"),
        (.nanoseconds(Int64.max), "2562047h47m16.854775807s"),
        (.nanoseconds(Int64.min), "-2562047h47m16.854775808s"),
    ]

    @Test(arguments: cases)
    func formatsAsGoDurationStringDoes(duration: Duration, expected: String) {
        #expect(formatGoDuration(duration) == expected)
    }

    @Test func subNanosecondPartsAreTruncated() {
        #expect(formatGoDuration(Duration(secondsComponent: 0, attosecondsComponent: 1_999_999_999)) == "1ns")
        #expect(formatGoDuration(Duration(secondsComponent: 0, attosecondsComponent: 999_999_999)) == "0s")
    }

    @Test func durationsBeyondGoRangeAreClamped() {
        #expect(formatGoDuration(.seconds(Int64.max)) == "2562047h47m16.854775807s")
        #expect(formatGoDuration(.seconds(Int64.min)) == "-2562047h47m16.854775808s")
    }

    @Test(arguments: valid)
    func formattedDurationParsesBackToTheSameValue(text: String, duration: Duration) throws {
        #expect(try parseGoDuration(formatGoDuration(duration)) == duration)
    }

    static let valid = GoDurationParsingTests.valid
}
