import Foundation
import Logging
import TestSupport
import Testing

@testable import ProxyServer

#if canImport(Glibc)
    import Glibc
#endif

/// Credentials on disk are the owner's alone from the moment they exist.
@Suite struct PrivateFileTests {
    private func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test func aNewFileIsOwnerOnlyAndNothingIsLeftBeside() throws {
        let directory = try TemporaryDirectory("private")
        defer { directory.remove() }
        let path = directory.file("nested/kubeconfig")
        try PrivateFile.write(Data("secret".utf8), to: path)
        #expect(mode(path) == 0o600)
        #expect(mode(directory.file("nested")) == 0o700)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "secret")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("nested")) == ["kubeconfig"])
    }

    @Test func aWorldReadableFileIsReplacedByAnOwnerOnlyOne() throws {
        let directory = try TemporaryDirectory("private")
        defer { directory.remove() }
        let path = try directory.write("old", to: "kubeconfig")
        chmod(path, 0o644)
        try PrivateFile.write(Data("new".utf8), to: path)
        #expect(mode(path) == 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
    }

    @Test func aFailedReplaceIsAnErrorAndLeavesNoTemporaryFile() throws {
        let directory = try TemporaryDirectory("private")
        defer { directory.remove() }
        // A directory where the file should go: the rename into place fails.
        try FileManager.default.createDirectory(
            atPath: directory.file("kubeconfig/inner"), withIntermediateDirectories: true)
        #expect(throws: PrivateFile.Failure.self) {
            try PrivateFile.write(Data("x".utf8), to: directory.file("kubeconfig"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["kubeconfig"])
    }

    @Test func theSelfSignedServingKeyIsOwnerOnlyAndReused() throws {
        let directory = try TemporaryDirectory("serving")
        defer { directory.remove() }
        let certs = directory.file("certs")
        let (certificate, key) = try ServingCertificate.selfSigned(
            in: certs, names: ["proxy.example"], logger: Logger(label: "test"))
        #expect(mode(key) == 0o600)
        #expect(mode(certificate) & 0o044 == 0o044, "the certificate is public")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: certs).sorted() == [
                "kube-oidc-proxy.crt", "kube-oidc-proxy.key",
            ])
        let firstKey = try String(contentsOfFile: key, encoding: .utf8)
        #expect(firstKey.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let again = try ServingCertificate.selfSigned(in: certs, names: [], logger: Logger(label: "test"))
        #expect(again.1 == key)
        #expect(try String(contentsOfFile: key, encoding: .utf8) == firstKey)
    }
}
