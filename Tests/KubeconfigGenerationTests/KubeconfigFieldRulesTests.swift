import KubeconfigGeneration
import Testing

/// The values `kube-oidc-proxy kubeconfig` accepts, and the words it refuses the others with.
@Suite struct KubeconfigFieldRulesTests {
    @Test(arguments: ["a", "prod", "banyan-eks-1", "0cluster9", String(repeating: "a", count: 63)])
    func kubernetesObjectNamesAreAccepted(_ name: String) {
        #expect(KubeconfigFieldRules.objectNameProblem(name) == nil)
    }

    @Test func anEmptyNameIsRequired() {
        #expect(KubeconfigFieldRules.objectNameProblem("")?.hasPrefix("is required") == true)
    }

    @Test func aNameLongerThan63CharactersIsRefusedWithItsLength() {
        let problem = KubeconfigFieldRules.objectNameProblem(String(repeating: "a", count: 64))
        #expect(problem?.contains("64 characters, more than 63") == true)
    }

    @Test(arguments: [("Prod", "'P'"), ("my_cluster", "'_'"), ("prod.eu", "'.'"), ("prod eu", "' '"), ("prød", "'ø'")])
    func aCharacterOutsideTheRuleIsNamed(_ name: String, _ shown: String) {
        let problem = KubeconfigFieldRules.objectNameProblem(name)
        #expect(problem?.hasPrefix("\"\(name)\" is not a Kubernetes object name: \(shown) is not allowed") == true)
        #expect(problem?.contains("lowercase letters, digits and '-'") == true)
    }

    @Test(arguments: ["-prod", "prod-", "-"])
    func aNameMustStartAndEndAlphanumeric(_ name: String) {
        #expect(
            KubeconfigFieldRules.objectNameProblem(name)?.hasSuffix("must start and end with a letter or digit") == true
        )
    }

    @Test(arguments: [
        ("k8s.example.com:8443", "https://k8s.example.com:8443"),
        ("k8s.example.com", "https://k8s.example.com"),
        ("https://K8s.Example.com:443", "https://k8s.example.com:443"),
        ("https://k8s.example.com/", "https://k8s.example.com"),
        ("10.0.0.5:6443", "https://10.0.0.5:6443"),
        ("[::1]:6443", "https://[::1]:6443"),
    ])
    func serverAddressesBecomeHTTPSURLs(_ address: String, _ url: String) throws {
        #expect(try KubeconfigFieldRules.serverURL(address).get() == url)
    }

    @Test(arguments: [
        ("", "is required"), ("http://k8s.example.com", "must be https"), ("k8s.example.com:70000", "outside 1-65535"),
        ("k8s.example.com/api", "only a host name and port"), ("https://", "no host name"),
    ])
    func unusableServerAddressesAreRefused(_ address: String, _ words: String) {
        guard case .failure(let problem) = KubeconfigFieldRules.serverURL(address) else {
            Issue.record("\(address) was accepted")
            return
        }
        #expect(problem.description.contains(words), "\(problem)")
    }

    @Test func proxyURLsAreHTTPHTTPSOrSOCKS5() {
        #expect(KubeconfigFieldRules.proxyURLProblem("http://localhost:8443") == nil)
        #expect(KubeconfigFieldRules.proxyURLProblem("socks5://127.0.0.1:1080") == nil)
        #expect(KubeconfigFieldRules.proxyURLProblem("ftp://localhost:21")?.contains("http, https or socks5") == true)
        #expect(KubeconfigFieldRules.proxyURLProblem("localhost:8443") != nil)
    }
}
