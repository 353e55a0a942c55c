import Foundation
import Testing
import UpstreamConfiguration

/// An in-memory file system and environment to resolve against, with PEM stand-ins that pass
/// the resolver's shape checks.
struct UpstreamFixture {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nY2EtZmlsZQ==\n-----END CERTIFICATE-----\n"
    static let otherCAPEM = "-----BEGIN CERTIFICATE-----\nb3RoZXItY2E=\n-----END CERTIFICATE-----\n"
    static let certificatePEM = "-----BEGIN CERTIFICATE-----\nY2xpZW50\n-----END CERTIFICATE-----\n"
    static let keyPEM = "-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END EC PRIVATE KEY-----\n"
    static let kubeconfigPath = "/home/me/.kube/config"

    /// Two clusters and two users: `dev` uses files relative to the kubeconfig and a token,
    /// `prod` uses inline data and a client certificate.
    static let kubeconfig = """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
        - name: dev-cluster
          cluster:
            server: https://dev.example:6443
            certificate-authority: ca.crt
        - name: prod-cluster
          cluster:
            server: https://prod.example
            certificate-authority-data: \(base64(otherCAPEM))
            tls-server-name: kubernetes.prod
        users:
        - name: dev-user
          user:
            token: dev-token-value
        - name: prod-user
          user:
            client-certificate: certs/client.crt
            client-key: certs/client.key
        contexts:
        - name: dev
          context: {cluster: dev-cluster, user: dev-user, namespace: team}
        - name: prod
          context: {cluster: prod-cluster, user: prod-user}
        """

    var files: [String: Data] = [:]
    var environment: [String: String] = [:]
    var role = UpstreamRole.apiServer

    /// The standard kubeconfig and the files it names.
    static func standard() -> UpstreamFixture {
        var fixture = UpstreamFixture()
        fixture.add(kubeconfigPath, kubeconfig)
        fixture.add("/home/me/.kube/ca.crt", caPEM)
        fixture.add("/home/me/.kube/certs/client.crt", certificatePEM)
        fixture.add("/home/me/.kube/certs/client.key", keyPEM)
        return fixture
    }

    /// A fixture holding only `yaml` as the kubeconfig, plus the PEM files at fixed paths.
    static func with(kubeconfig yaml: String) -> UpstreamFixture {
        var fixture = standard()
        fixture.add(kubeconfigPath, yaml)
        return fixture
    }

    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    mutating func add(_ path: String, _ text: String) {
        files[path] = Data(text.utf8)
    }

    func resolve(_ flags: UpstreamFlags) throws(UpstreamConfigurationError) -> UpstreamTarget {
        try UpstreamResolver(
            environment: environment, files: .inMemory(files),
            inClusterPaths: InClusterPaths(tokenFile: "/sa/token", certificateAuthorityFile: "/sa/ca.crt"),
            role: role
        ).resolve(flags)
    }

    /// The error resolution fails with, or nil (recording an issue) if it succeeds.
    func refusal(_ flags: UpstreamFlags, sourceLocation: SourceLocation = #_sourceLocation)
        -> UpstreamConfigurationError?
    {
        do {
            let target = try resolve(flags)
            Issue.record("expected an error, resolved \(target)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}

extension UpstreamFlags {
    /// The fixture's kubeconfig with the other flags as given.
    static func kubeconfig(
        context: String? = nil, cluster: String? = nil, user: String? = nil, server: String? = nil
    ) -> UpstreamFlags {
        UpstreamFlags(
            kubeconfig: UpstreamFixture.kubeconfigPath, context: context, cluster: cluster, user: user, server: server)
    }
}

func pem(_ text: String) -> Data {
    Data(text.utf8)
}
