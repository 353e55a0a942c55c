import Foundation
import TestSupport
import Testing

@testable import ProxyServer

/// The service-account token is re-read when the kubelet rotates it.
@Suite struct TokenFileTests {
    @Test func tokenIsReadTrimmedAndRereadAfterRotation() async throws {
        let directory = try TemporaryDirectory("token")
        defer { directory.remove() }
        let path = try directory.write("first-token\n", to: "token")
        let file = TokenFile(path: path, recheckInterval: .milliseconds(50))
        #expect(file.current() == "first-token")
        try "second-token".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: path)
        try await Task.sleep(for: .milliseconds(80))
        #expect(file.current() == "second-token")
    }

    @Test func missingFileGivesNoToken() {
        #expect(TokenFile(path: "/nonexistent/token").current() == nil)
    }
}
