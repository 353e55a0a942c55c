import Foundation
import TestSupport
import Testing

@testable import AuditShipping

/// Bearer tokens read from a value or a mounted secret.
@Suite struct TokenSourceTests {
    @Test(arguments: [
        ("abc.DEF-123_~+/=", TokenSource.Reading.token("abc.DEF-123_~+/=")),
        ("token\n", .token("token")),
        ("  token \r\n", .token("token")),
        ("\u{FEFF}token\n", .token("token")),
        ("", .missing),
        (" \n\t", .missing),
        ("token\nsecond", .malformed),
        ("two words", .malformed),
        ("tök", .malformed),
        ("tok\u{0}en", .malformed),
        ("tok\u{7F}", .malformed),
    ])
    func aTokenIsOneWordOfVisibleASCIIOnceTrimmed(text: String, expected: TokenSource.Reading) {
        #expect(TokenSource.reading(text) == expected)
    }

    @Test func aRotatedFileIsReadAgainAndAnUnreadableOneKeepsTheLastToken() throws {
        let directory = try TemporaryDirectory("token-source")
        defer { directory.remove() }
        let path = try directory.write("first\n", to: "token")
        let source = TokenSource(.file(path: path))
        #expect(source.read() == .token("first"))
        // As the kubelet rotates a secret: a new file renamed over the old one.
        let next = try directory.write("second\nline\n", to: "token.new")
        #expect(rename(next, path) == 0)
        #expect(source.read() == .malformed)
        #expect(source.current() == nil)
        let good = try directory.write("third", to: "token.new")
        #expect(rename(good, path) == 0)
        #expect(source.current() == "third")
        #expect(unlink(path) == 0)
        #expect(source.current() == "third")
    }
}
