import DevEnvironment
import Testing

@Suite struct DevelopmentBannerTests {
    @Test func wordsAreQuotedOnlyWhenTheShellWouldSplitThem() {
        #expect(
            DevelopmentBanner.shellQuoted("/tmp/kube-oidc-proxy-dev-0/kubeconfig")
                == "/tmp/kube-oidc-proxy-dev-0/kubeconfig")
        #expect(DevelopmentBanner.shellQuoted("--oidc-username-prefix=banyan:") == "--oidc-username-prefix=banyan:")
        #expect(DevelopmentBanner.shellQuoted("/Users/me/My Files/kubeconfig") == "'/Users/me/My Files/kubeconfig'")
        #expect(DevelopmentBanner.shellQuoted("it's") == #"'it'\''s'"#)
        #expect(DevelopmentBanner.shellQuoted("") == "''")
    }

    @Test func theBannerGivesTheKubectlLinesToTry() {
        let banner = DevelopmentBanner(
            proxyURL: "https://127.0.0.1:40001", probeURL: "http://127.0.0.1:40002",
            issuerURL: "https://127.0.0.1:40003", apiServerURL: "https://127.0.0.1:40004",
            clientID: "kube-oidc-proxy-dev",
            kubeconfigPath: "/tmp/dev/kubeconfig", email: "dev@example.com", roles: ["admin", "dev"],
            username: "banyan:dev@example.com", groups: ["banyan:admin", "banyan:dev", "system:authenticated"],
            tokenExpiry: "2025-06-15T15:06:40Z", checkTokenArguments: ["kube-oidc-proxy", "check-token"])
        let text = banner.text
        #expect(text.contains("  kubectl --kubeconfig /tmp/dev/kubeconfig auth whoami\n"))
        #expect(text.contains("  kubectl --kubeconfig /tmp/dev/kubeconfig get pods\n"))
        #expect(text.contains("proxy                https://127.0.0.1:40001\n"))
        #expect(text.contains("groups  banyan:admin, banyan:dev, system:authenticated\n"))
        #expect(text.contains("127.0.0.1 only"))
    }
}
