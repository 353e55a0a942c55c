import Foundation
import KubeconfigGeneration
import TestSupport
import Testing
import UpstreamConfiguration

/// The generated kubeconfig read back by the project's own kubeconfig reader, as the proxy and
/// `check-token` read kubeconfigs.
@Suite final class ClientKubeconfigTests: Sendable {
    static let caPEM = Data(
        "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n".utf8)

    /// The files a test writes, removed when it ends.
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("kubeconfig")
    }

    deinit {
        scratch.remove()
    }

    func written(_ config: ClientKubeconfig) throws -> String {
        try scratch.write(config.yaml(), to: "kubeconfig-\(UUID())")
    }

    @Test func aTokenKubeconfigRoundTripsThroughTheKubeconfigReader() throws {
        let config = ClientKubeconfig(
            clusterName: "banyan-prod", server: "https://k8s.example.com:8443", certificateAuthorityPEM: Self.caPEM,
            namespace: "team-a", credential: .token("header.payload.signature"))
        let path = try written(config)
        let target = try UpstreamResolver(environment: [:]).resolve(UpstreamFlags(kubeconfig: path))
        #expect(target.baseURL.absoluteString == "https://k8s.example.com:8443")
        #expect(target.trust == .caPEM(Self.caPEM))
        #expect(target.credential == .bearerToken("header.payload.signature"))
        #expect(target.origin == .kubeconfig(path: path, context: "banyan-prod"))
        let token = try KubeconfigUserToken.read(kubeconfig: path)
        #expect(token == KubeconfigUserToken(user: "banyan-prod", token: "header.payload.signature"))
    }

    @Test func theYAMLNamesEveryFieldAsKubectlSpellsIt() throws {
        let yaml = ClientKubeconfig(
            clusterName: "banyan-prod", server: "https://k8s.example.com:8443", certificateAuthorityPEM: Self.caPEM,
            proxyURL: "http://localhost:8443", userName: "alice", contextName: "prod", namespace: "team-a",
            credential: .token("t0k3n")
        ).yaml()
        for line in [
            "apiVersion: v1", "kind: Config", "current-context: prod", "- name: banyan-prod",
            "    server: https://k8s.example.com:8443", "    proxy-url: http://localhost:8443",
            "    certificate-authority-data: \(Self.caPEM.base64EncodedString())", "    cluster: banyan-prod",
            "    user: alice", "    namespace: team-a", "    token: t0k3n",
        ] {
            #expect(yaml.contains(line + "\n"), "missing \(line) in\n\(yaml)")
        }
    }

    @Test func aProxyURLIsReadBackAsTheClusterSettingTheProxyItselfDoesNotUse() throws {
        let path = try written(
            ClientKubeconfig(
                clusterName: "c", server: "https://k8s.example.com", proxyURL: "http://localhost:8443",
                credential: .token("t")))
        #expect(
            throws: UpstreamConfigurationError.unsupportedClusterSetting(
                cluster: "c", setting: "proxy-url", kubeconfig: path)
        ) {
            try UpstreamResolver(environment: [:]).resolve(UpstreamFlags(kubeconfig: path))
        }
        #expect(try KubeconfigUserToken.read(kubeconfig: path).token == "t")
    }

    @Test func anExecPluginIsWrittenForClientAuthenticationV1() throws {
        let config = ClientKubeconfig(
            clusterName: "c", server: "https://k8s.example.com",
            credential: .exec(
                .init(
                    command: "banyanc", arguments: ["kube", "token", "--cluster=c"],
                    environment: [(name: "BANYAN_PROFILE", value: "work")])))
        let yaml = config.yaml()
        for line in [
            "      apiVersion: client.authentication.k8s.io/v1", "      command: banyanc",
            "      - kube", "      - --cluster=c", "      - name: BANYAN_PROFILE", "        value: work",
            "      interactiveMode: IfAvailable",
        ] {
            #expect(yaml.contains(line + "\n"), "missing \(line) in\n\(yaml)")
        }
        let path = try written(config)
        #expect(
            throws: UpstreamConfigurationError.unsupportedAuthentication(user: "c", mechanism: "exec", kubeconfig: path)
        ) {
            try KubeconfigUserToken.read(kubeconfig: path)
        }
    }

    @Test func aTokenFileIsReferencedAndReadWhenTheTokenIsNeeded() throws {
        let tokenPath = try scratch.write("from.a.file\n", to: "token")
        let path = try written(
            ClientKubeconfig(clusterName: "c", server: "https://k8s.example.com", credential: .tokenFile(tokenPath)))
        let target = try UpstreamResolver(environment: [:]).resolve(UpstreamFlags(kubeconfig: path))
        #expect(target.credential == .bearerTokenFile(tokenPath))
        #expect(try KubeconfigUserToken.read(kubeconfig: path).token == "from.a.file")
    }

    @Test func valuesThatLookLikeOtherYAMLTypesStayStrings() throws {
        let config = ClientKubeconfig(clusterName: "123", server: "https://k8s.example.com", credential: .token("true"))
        // kubectl reads YAML as JSON first: an unquoted 123 or true would not be a string there.
        #expect(config.yaml().contains("- name: '123'\n"))
        #expect(config.yaml().contains("token: 'true'\n"))
        let path = try written(config)
        let token = try KubeconfigUserToken.read(kubeconfig: path)
        #expect(token == KubeconfigUserToken(user: "123", token: "true"))
    }
}
