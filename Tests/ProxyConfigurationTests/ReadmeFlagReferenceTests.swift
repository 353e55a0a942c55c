import CommandLineFlags
import Foundation
import ProxyConfiguration
import Testing

/// README.md's flag reference is the code's own `markdownTable()` output, between markers, so
/// it cannot drift from the flags: a changed flag fails this test until the README is regenerated
/// (the failure message carries the table to paste).
@Suite struct ReadmeFlagReferenceTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    static let commands: [String: FlagSet] = [
        "proxy": ProxyFlags.flagSet, "dev": DevFlags.flagSet, "check-token": CheckTokenFlags.flagSet,
        "kubeconfig": KubeconfigFlags.flagSet,
    ]

    @Test(arguments: ["proxy", "dev", "check-token", "kubeconfig"])
    func readmeCarriesTheGeneratedTable(name: String) throws {
        let flags = try #require(Self.commands[name])
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let begin = "<!-- flags:\(name):begin -->\n"
        let end = "<!-- flags:\(name):end -->"
        let table = flags.markdownTable()
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex)
        else {
            Issue.record("README.md has no \(begin.dropLast()) … \(end) section; put this between them:\n\(table)")
            return
        }
        let found = String(text[start.upperBound..<stop.lowerBound])
        #expect(found == table, "README.md's \(name) flag table is stale; replace it with:\n\(table)")
    }
}
