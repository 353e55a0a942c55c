import Foundation
import TestSupport
import Testing

@testable import AuditBatcher

/// `--audit-log-path` with `--audit-log-maxsize`/`-maxbackup` rotation.
@Suite struct AuditLogFileTests {
    @Test func eachEventIsOneLine() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let path = directory.file("audit.log")
        let log = try AuditLogFile(path: path)
        try log.append(Array(#"{"a":1}"#.utf8))
        try log.append(Array(#"{"b":2}"#.utf8))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n{\"b\":2}\n")
    }

    @Test func fileRotatesAtMaxSizeAndKeepsMaxBackups() throws {
        let directory = try TemporaryDirectory("auditlog")
        defer { directory.remove() }
        let folder = directory.path
        let log = try AuditLogFile(
            path: folder + "/audit.log", rotation: .init(maxSizeMegabytes: 1, maxBackups: 1, maxAgeDays: 0))
        let line = Array(repeating: UInt8(ascii: "x"), count: 1023)
        for _ in 0..<(3 * 1024 + 10) {
            try log.append(line)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names.count == 2, "\(names)")
        #expect(names.contains("audit.log"))
        for name in names {
            let size = try #require(
                try FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int)
            #expect(size <= 1024 * 1024)
        }
    }
}
