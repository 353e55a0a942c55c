import Foundation
import TestSupport
import Testing

/// Large bodies stream with bounded memory; rotated serving certificates are picked up.
@Suite(.serialized) struct ProxyBodyAndCertificateTests {
    @Test func twoHundredMegabytesPassBothWaysWithBoundedProxyMemory() async throws {
        try await ProxyFixture.with { proxy in
            let size = 200 * 1024 * 1024
            let directory = try TemporaryDirectory("body")
            defer { directory.remove() }
            let file = directory.file("body.bin")
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            let block = Data(repeating: 0x5A, count: 1024 * 1024)
            for _ in 0..<200 { handle.write(block) }
            try handle.close()
            let baseline = try #require(proxy.process.memoryKiB("VmRSS"))
            let token = proxy.token()

            for http in ["--http1.1", "--http2"] {
                let upload = try await ProxyProcess.runTool(
                    "/usr/bin/curl",
                    [
                        "-sS", http, "--cacert", proxy.certificateFile, "-H", "Authorization: Bearer \(token)",
                        "-H", "Content-Type: application/octet-stream", "--data-binary", "@\(file)",
                        proxy.url + "/count",
                    ])
                #expect(upload.stdout == #"{"bytes":\#(size)}"#, "\(http) upload: \(upload.stdout) \(upload.stderr)")
                let download = try await ProxyProcess.runTool(
                    "/usr/bin/curl",
                    [
                        "-sS", http, "--cacert", proxy.certificateFile, "-H", "Authorization: Bearer \(token)",
                        "-o", "/dev/null", "-w", "%{size_download}", proxy.url + "/download?bytes=\(size)",
                    ])
                #expect(download.stdout == "\(size)", "\(http) download: \(download.stdout) \(download.stderr)")
            }
            let peak = try #require(proxy.process.memoryKiB("VmHWM"))
            // Streaming with back-pressure: the peak stays within a few MiB of the idle process,
            // nowhere near the 200 MiB that passed through.
            print("proxy RSS: idle \(baseline / 1024) MiB, peak \(peak / 1024) MiB after 4 × 200 MiB")
            #expect(peak - baseline < 64 * 1024, "peak RSS grew by \((peak - baseline) / 1024) MiB")
        }
    }

    @Test func rotatedServingCertificateIsServedToNewConnections() async throws {
        let directory = try TemporaryDirectory("certs")
        defer { directory.remove() }
        let first = try TestCA(commonName: "first serving CA")
        let second = try TestCA(commonName: "second serving CA")
        let certificate = directory.file("tls.crt")
        let key = directory.file("tls.key")
        func install(_ ca: TestCA) throws {
            let pair = try ca.issueServingCertificate()
            // As the kubelet updates a mounted secret: new files, then an atomic swap.
            try pair.keyPEM.write(toFile: key + ".new", atomically: true, encoding: .utf8)
            try pair.certificatePEM.write(toFile: certificate + ".new", atomically: true, encoding: .utf8)
            _ = rename(key + ".new", key)
            _ = rename(certificate + ".new", certificate)
        }
        try install(first)
        let firstCA = try first.writeCertificate(to: directory.url)
        let secondCA = try second.writeCertificate(to: directory.url)
        try await ProxyFixture.with([
            "--tls-cert-file=\(certificate)", "--tls-private-key-file=\(key)", "--tls-reload-interval=100ms",
        ]) { proxy in
            func status(trusting ca: String) async throws -> String {
                try await ProxyProcess.runTool(
                    "/usr/bin/curl",
                    ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, proxy.url + "/version"]
                ).stdout
            }
            #expect(try await status(trusting: firstCA) == "401")
            #expect(try await status(trusting: secondCA) == "000")
            try install(second)
            var code = try await status(trusting: secondCA)
            for _ in 0..<100 where code != "401" {
                try await Task.sleep(for: .milliseconds(50))
                code = try await status(trusting: secondCA)
            }
            #expect(code == "401", "the rotated certificate was not picked up")
            #expect(try await status(trusting: firstCA) == "000")
        }
    }
}
