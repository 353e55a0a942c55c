import AuditBatcher
import Foundation
import TestSupport
import Testing

@testable import AuditShipping

/// How a sink's HTTP answer becomes a send outcome, status by status.
@Suite struct SinkResponseTests {
    @Test(arguments: [
        (200, SinkAnswer.delivered), (201, .delivered), (204, .delivered),
        (401, .failed(.unauthorized, detail: "HTTP 401: no")),
        (429, .failed(.retryable(retryAfter: nil), detail: "HTTP 429: no")),
        (408, .failed(.retryable(retryAfter: nil), detail: "HTTP 408: no")),
        (500, .failed(.retryable(retryAfter: nil), detail: "HTTP 500: no")),
        (503, .failed(.retryable(retryAfter: nil), detail: "HTTP 503: no")),
        (400, .failed(.rejected(statusCode: 400), detail: "HTTP 400: no")),
        (403, .failed(.rejected(statusCode: 403), detail: "HTTP 403: no")),
        (404, .failed(.rejected(statusCode: 404), detail: "HTTP 404: no")),
        (413, .failed(.rejected(statusCode: 413), detail: "HTTP 413: no")),
    ])
    func statusIsClassified(status: Int, expected: SinkAnswer) {
        #expect(SinkResponse.classify(status: status, retryAfter: nil, body: Array("no".utf8)) == expected)
    }

    /// A redirect (not followed) was a rejection: the batch was dropped after five attempts, and
    /// the log did not say where to.
    @Test(arguments: [301, 302, 307, 308])
    func aRedirectBacksOffNamingWhereTo(status: Int) {
        #expect(
            SinkResponse.classify(
                status: status, retryAfter: nil, body: Array("moved".utf8), location: "https://api.example/v2/events")
                == .failed(
                    .retryable(retryAfter: nil),
                    detail: "HTTP \(status): redirected to https://api.example/v2/events, which is not followed: "
                        + "check the sink's URL"))
    }

    @Test func retryAfterSecondsAndDatesAreHonoured() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(
            SinkResponse.classify(status: 503, retryAfter: "120", body: [], now: now)
                == .failed(.retryable(retryAfter: .seconds(120)), detail: "HTTP 503: (no message)"))
        let date = "Tue, 14 Nov 2023 22:14:20 GMT"  // now + 60 s
        #expect(SinkResponse.parseRetryAfter(date, now: now) == .seconds(60))
        #expect(SinkResponse.parseRetryAfter("soon", now: now) == nil)
        #expect(SinkResponse.parseRetryAfter("-5", now: now) == nil)
    }

    @Test func theServerMessageIsTruncatedFlattenedAndRedacted() {
        let long = String(repeating: "x", count: 5_000)
        let message = SinkResponse.message(Array(long.utf8))
        #expect(message.count == SinkResponse.messageLimit + 1)
        #expect(SinkResponse.message(Array("line one\nline two".utf8)) == "line one line two")
        #expect(
            SinkResponse.message(Array(#"{"error":"token s3cr3t-token is expired"}"#.utf8), redacting: ["s3cr3t-token"])
                == #"{"error":"token [redacted] is expired"}"#)
    }

    @Test func serviceNamesArePercentEncodedForTheQuery() {
        #expect(BanyanSink.percentEncoded("prod-cluster_1.eu") == "prod-cluster_1.eu")
        #expect(BanyanSink.percentEncoded("my cluster/α&b=c") == "my%20cluster%2F%CE%B1%26b%3Dc")
    }

    @Test func theAccessTokenIsReadFromTheMessageField() {
        #expect(BanyanSink.accessToken(in: Array(#"{"Message":"abc.def"}"#.utf8)) == "abc.def")
        #expect(BanyanSink.accessToken(in: Array(#"{"Message":""}"#.utf8)) == nil)
        #expect(BanyanSink.accessToken(in: Array("not json".utf8)) == nil)
        // One word of visible ASCII, once trimmed: anything else would make a header the HTTP
        // client refuses (and whose error repeats it).
        #expect(BanyanSink.accessToken(in: Array(#"{"Message":" abc.def \n"}"#.utf8)) == "abc.def")
        #expect(BanyanSink.accessToken(in: Array(#"{"Message":"abc\ndef"}"#.utf8)) == nil)
        #expect(BanyanSink.accessToken(in: Array(#"{"Message":"abc def"}"#.utf8)) == nil)
        #expect(BanyanSink.accessToken(in: Array(#"{"Message":42}"#.utf8)) == nil)
    }

    @Test func refreshTokenFileIsTrimmedAndReReadWhenItChanges() throws {
        let directory = try TemporaryDirectory("refresh")
        defer { directory.remove() }
        let path = try directory.write("first-token \n", to: "refresh-token")
        let source = TokenSource(.file(path: path))
        #expect(source.current() == "first-token")
        try "second-token-longer\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(source.current() == "second-token-longer")
        // Leading whitespace too: a token holds none, and a header with it would be refused.
        #expect(TokenSource(.value("  env-token\t\n")).current() == "env-token")
    }

    /// Kubernetes rotates a mounted secret by pointing its `..data` symlink at a new directory:
    /// the new file may have the old one's size and time, but it is another file.
    @Test func aSecretRotatedBySymlinkSwapIsReadAgainEvenWithTheSameSizeAndTime() throws {
        let directory = try TemporaryDirectory("refresh")
        defer { directory.remove() }
        let old = try directory.write("token-aaaa", to: "v1-token")
        let new = try directory.write("token-bbbb", to: "v2-token")
        let time = Date(timeIntervalSince1970: 1_700_000_000)
        for file in [old, new] { try FileManager.default.setAttributes([.modificationDate: time], ofItemAtPath: file) }
        let link = directory.file("refresh-token")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: old)
        let source = TokenSource(.file(path: link))
        #expect(source.current() == "token-aaaa")
        let swap = directory.file("swap")
        try FileManager.default.createSymbolicLink(atPath: swap, withDestinationPath: new)
        #expect(rename(swap, link) == 0)
        #expect(source.current() == "token-bbbb")
        try FileManager.default.removeItem(atPath: new)
        #expect(source.current() == "token-bbbb", "an unreadable file keeps the token last read")
    }
}
