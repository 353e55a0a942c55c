import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority made at test time, and serving certificates it signs for loopback.
public struct TestCA: Sendable {
    public let certificatePEM: String
    private let key: P256.Signing.PrivateKey
    private let name: DistinguishedName

    public init(commonName: String = "kube-oidc-proxy test CA") throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400 * 2),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key))
        self.certificatePEM = try certificate.serializeAsPEM().pemString
        self.key = key
        self.name = name
    }

    /// Writes the CA certificate to a temporary file, for `--oidc-ca-file` and friends.
    public func writeCertificate(to directory: URL) throws -> String {
        let path = directory.appendingPathComponent("ca-\(UUID().uuidString).crt").path
        try certificatePEM.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A serving certificate for `localhost` and 127.0.0.1 (and any extra DNS names).
    /// A serving certificate for `localhost`, 127.0.0.1 and `dnsNames`; with `loopback` false,
    /// for `dnsNames` only (a server reached by address but known by another name).
    public func issueServingCertificate(dnsNames: [String] = [], loopback: Bool = true) throws -> (
        certificatePEM: String, keyPEM: String
    ) {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let subject = try DistinguishedName { CommonName("localhost") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
            issuer: name, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames(
                    (loopback
                        ? [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))] : [])
                        + dnsNames.map { .dnsName($0) })
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(self.key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    /// A client certificate naming `commonName` (the user an API server would take it for).
    public func issueClientCertificate(commonName: String) throws -> (certificatePEM: String, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
            issuer: name, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { try ExtendedKeyUsage([.clientAuth]) },
            issuerPrivateKey: .init(self.key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
