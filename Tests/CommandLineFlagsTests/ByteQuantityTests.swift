import Testing

@testable import CommandLineFlags

@Suite struct ByteQuantityParsingTests {
    @Test(
        arguments: [
            ("0", 0), ("1048576", 1_048_576), ("+1Ki", 1_024),
            ("1Ki", 1 << 10), ("256Mi", 268_435_456), ("1Gi", 1_073_741_824), ("2Ti", 2 << 40), ("1Pi", 1 << 50),
            ("1Ei", 1 << 60), ("15Ei", 15 << 60),
            ("1k", 1_000), ("1M", 1_000_000), ("1G", 1_000_000_000), ("1T", 1_000_000_000_000),
            ("1P", 1_000_000_000_000_000), ("1E", 1_000_000_000_000_000_000), ("18E", 18_000_000_000_000_000_000),
            ("18446744073709551615", UInt64.max),
        ] as [(String, UInt64)])
    func integerQuantitiesAreAccepted(text: String, expected: UInt64) throws {
        #expect(try parseByteQuantity(text) == expected)
    }

    @Test(
        arguments: [
            ("1.5Gi", 1_610_612_736), ("0.5Ki", 512), (".5Mi", 524_288), ("1.5k", 1_500), ("1.", 1), ("2.000", 2),
            ("0.1", 1), ("0.001k", 1), ("1.0001k", 1_001),
        ] as [(String, UInt64)])
    func fractionalQuantitiesRoundUpToWholeBytes(text: String, expected: UInt64) throws {
        #expect(try parseByteQuantity(text) == expected)
    }

    @Test(arguments: ["-1", "-1Gi", "-0"])
    func negativeQuantitiesAreRejected(text: String) {
        #expect(throws: ValueSyntaxError("byte quantity \(goQuote(text)) must not be negative")) {
            try parseByteQuantity(text)
        }
    }

    @Test(arguments: [("12Zi", "Zi"), ("1K", "K"), ("100m", "m"), ("1e6", "e6"), ("1 Mi", " Mi"), ("1MiB", "MiB")])
    func unknownSuffixesAreRejected(text: String, suffix: String) {
        let expected = ValueSyntaxError("unknown suffix \(goQuote(suffix)) in byte quantity \(goQuote(text))")
        #expect(throws: expected) { try parseByteQuantity(text) }
    }

    @Test(arguments: ["", "Mi", ".", "abc", "+", " 1"])
    func textWithoutANumberIsInvalid(text: String) {
        #expect(throws: ValueSyntaxError("invalid byte quantity \(goQuote(text))")) { try parseByteQuantity(text) }
    }

    @Test(arguments: ["16Ei", "19E", "18446744073709551616", "18446744073709551615.5", "99999999999999999999999Ki"])
    func quantitiesBeyondUInt64Overflow(text: String) {
        #expect(throws: ValueSyntaxError("byte quantity \(goQuote(text)) does not fit in 64 bits")) {
            try parseByteQuantity(text)
        }
    }

    @Test func absurdlyPreciseFractionsAreRejected() {
        let text = "0.12345678901234567891"
        #expect(throws: ValueSyntaxError("byte quantity \(goQuote(text)) has too many decimal places")) {
            try parseByteQuantity(text)
        }
    }
}

@Suite struct ByteQuantityFormattingTests {
    @Test(
        arguments: [
            (0, "0"), (1, "1"), (1_024, "1Ki"), (268_435_456, "256Mi"), (1 << 30, "1Gi"), (1 << 60, "1Ei"),
            (1_000, "1k"), (2_000_000, "2M"), (1_500, "1500"), (1_536, "1536"), (UInt64.max, "18446744073709551615"),
        ] as [(UInt64, String)])
    func formatsAsTheShortestExactQuantity(bytes: UInt64, expected: String) throws {
        #expect(formatByteQuantity(bytes) == expected)
        #expect(try parseByteQuantity(expected) == bytes)
    }
}
