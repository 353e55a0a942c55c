import Crypto
import Foundation
import Logging
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// The serving certificate and key: from `--tls-cert-file`/`--tls-private-key-file` (reloaded
/// when the files change, as Kubernetes rotates mounted secrets), or self-signed into
/// `--cert-dir` with the host's names and reused on restart.
public final class ServingCertificate: Sendable {
    public struct Settings: Sendable {
        public var certificateFile: String?
        public var privateKeyFile: String?
        public var certificateDirectory: String
        public var minimumTLSVersion: TLSVersion
        /// OpenSSL cipher names; empty: BoringSSL's secure defaults.
        public var cipherSuites: [String]
        public var extraNames: [String]

        public init(
            certificateFile: String?, privateKeyFile: String?, certificateDirectory: String,
            minimumTLSVersion: TLSVersion = .tlsv12, cipherSuites: [String] = [], extraNames: [String] = []
        ) {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
            self.certificateDirectory = certificateDirectory
            self.minimumTLSVersion = minimumTLSVersion
            self.cipherSuites = cipherSuites
            self.extraNames = extraNames
        }
    }

    private struct Loaded {
        var context: NIOSSLContext
        var fingerprint: [UInt8]
    }

    public let settings: Settings
    public let certificateFile: String
    public let privateKeyFile: String
    private let loaded: Mutex<Loaded>
    private let logger: Logger

    public init(_ settings: Settings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        if let certificateFile = settings.certificateFile, let privateKeyFile = settings.privateKeyFile {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
        } else {
            (certificateFile, privateKeyFile) = try Self.selfSigned(
                in: settings.certificateDirectory, names: settings.extraNames, logger: logger)
        }
        loaded = Mutex(try Self.load(certificateFile, privateKeyFile, settings: settings))
    }

    /// The TLS context new connections use.
    var context: NIOSSLContext { loaded.withLock { $0.context } }

    /// Reloads the files if their contents changed; a broken pair keeps the current one.
    @discardableResult
    public func reloadIfChanged() -> Bool {
        guard let fingerprint = try? Self.fingerprint(certificateFile, privateKeyFile),
            fingerprint != loaded.withLock({ $0.fingerprint })
        else { return false }
        do {
            let fresh = try Self.load(certificateFile, privateKeyFile, settings: settings)
            loaded.withLock { $0 = fresh }
            logger.info("serving certificate reloaded", metadata: ["file": "\(certificateFile)"])
            return true
        } catch {
            logger.error(
                "serving certificate changed but cannot be loaded; keeping the current one",
                metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Polls for rotated files until cancelled.
    public func watch(every interval: Duration = .seconds(10)) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            reloadIfChanged()
        }
    }

    private static func fingerprint(_ certificateFile: String, _ privateKeyFile: String) throws -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: try Data(contentsOf: URL(fileURLWithPath: certificateFile)))
        hasher.update(data: try Data(contentsOf: URL(fileURLWithPath: privateKeyFile)))
        return Array(hasher.finalize())
    }

    private static func load(_ certificateFile: String, _ privateKeyFile: String, settings: Settings) throws -> Loaded {
        let fingerprint = try fingerprint(certificateFile, privateKeyFile)
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        let key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.applicationProtocols = ["h2", "http/1.1"]
        tls.minimumTLSVersion = settings.minimumTLSVersion
        if !settings.cipherSuites.isEmpty { tls.cipherSuites = settings.cipherSuites.joined(separator: ":") }
        return Loaded(context: try NIOSSLContext(configuration: tls), fingerprint: fingerprint)
    }

    /// Reuses `<dir>/kube-oidc-proxy.{crt,key}` or makes them: P-256, one year, SANs for the
    /// host name, `localhost`, the loopback addresses and any extra names.
    static func selfSigned(in directory: String, names: [String], logger: Logger) throws -> (String, String) {
        let certificatePath = (directory as NSString).appendingPathComponent("kube-oidc-proxy.crt")
        let keyPath = (directory as NSString).appendingPathComponent("kube-oidc-proxy.key")
        let manager = FileManager.default
        if manager.fileExists(atPath: certificatePath) && manager.fileExists(atPath: keyPath) {
            return (certificatePath, keyPath)
        }
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = P256.Signing.PrivateKey()
        let host = ProcessInfo.processInfo.hostName
        let subject = try DistinguishedName { CommonName("kube-oidc-proxy@\(host)") }
        var sans: [GeneralName] = [
            .dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
            .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
        ]
        for name in Set([host] + names) where !name.isEmpty && name != "localhost" {
            if let address = ipAddressBytes(name) {
                sans.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))))
            } else {
                sans.append(.dnsName(name))
            }
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(sans)
            },
            issuerPrivateKey: .init(key))
        // The key is the owner's alone from the moment it exists: written, then made private, it
        // was readable by all for a moment (and for good, had the proxy died in between).
        try PrivateFile.write(Data(key.pemRepresentation.utf8), to: keyPath)
        try certificate.serializeAsPEM().pemString.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        logger.info("generated a self-signed serving certificate", metadata: ["file": "\(certificatePath)"])
        return (certificatePath, keyPath)
    }
}

/// The bytes of a textual IPv4 or IPv6 address, or nil.
func ipAddressBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
    return nil
}
