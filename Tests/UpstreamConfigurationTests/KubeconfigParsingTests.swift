import Foundation
import Testing
import UpstreamConfiguration

/// Malformed and unusual kubeconfig files, and the one-line errors they give.
@Suite struct KubeconfigParsingTests {
    func refusal(_ yaml: String) -> UpstreamConfigurationError? {
        UpstreamFixture.with(kubeconfig: yaml).refusal(.kubeconfig())
    }

    @Test func malformedYAMLNamesTheFileAndLine() throws {
        let error = try #require(refusal("apiVersion: v1\nkind: Config\nclusters: [\n- name: x\n"))
        guard case .kubeconfigSyntax(let path, "YAML", let line, _) = error else {
            Issue.record("expected a syntax error, got \(error)")
            return
        }
        #expect(path == UpstreamFixture.kubeconfigPath)
        #expect(line != nil)
        #expect(error.description.hasPrefix("kubeconfig /home/me/.kube/config: cannot parse YAML at line "))
        #expect(!error.description.contains("\n"))
    }

    @Test func badIndentationIsReportedAtItsLine() throws {
        let error = try #require(refusal("apiVersion: v1\nkind: Config\n  current-context: x\n"))
        #expect(error.description.hasPrefix("kubeconfig /home/me/.kube/config: cannot parse YAML at line 3: "))
    }

    @Test func aWrongFieldTypeNamesTheField() throws {
        let error = try #require(
            refusal(
                """
                clusters:
                - name: a
                  cluster:
                    server: https://a.example
                    insecure-skip-tls-verify: maybe
                """))
        #expect(
            error.description
                == "kubeconfig /home/me/.kube/config: line 5: clusters[0].cluster.insecure-skip-tls-verify: expected true or false"
        )
    }

    @Test func anotherKindIsRefused() throws {
        let error = try #require(refusal("apiVersion: v1\nkind: Pod\n"))
        #expect(error.description == "kubeconfig /home/me/.kube/config: line 2: kind is \"Pod\", expected Config")
    }

    @Test func anEntryWithoutNameIsRefused() throws {
        let error = try #require(refusal("users:\n- user: {token: x}\n"))
        #expect(error.description == "kubeconfig /home/me/.kube/config: line 2: users[0] has no name")
    }

    @Test func duplicateNamesAreRefused() throws {
        let error = try #require(
            refusal("contexts:\n- name: a\n  context: {cluster: x}\n- name: a\n  context: {cluster: y}\n"))
        #expect(error.description == "kubeconfig /home/me/.kube/config: line 4: duplicate context name \"a\"")
    }

    @Test func jsonKubeconfigsAreRead() throws {
        let json = """
            {
              "apiVersion": "v1",
              "kind": "Config",
              "current-context": "ctx",
              "clusters": [{"name": "c", "cluster": {"server": "https://json.example:8443",
                "certificate-authority-data": "\(UpstreamFixture.base64(UpstreamFixture.caPEM))"}}],
              "users": [{"name": "u", "user": {"token": "json-token"}}],
              "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}]
            }
            """
        let target = try UpstreamFixture.with(kubeconfig: json).resolve(.kubeconfig())
        #expect(target.baseURL.absoluteString == "https://json.example:8443")
        #expect(target.trust == .caPEM(pem(UpstreamFixture.caPEM)))
        #expect(target.credential == .bearerToken("json-token"))
    }

    @Test func compactJSONFromAnEncoderIsRead() throws {
        let object: [String: Any] = [
            "kind": "Config", "apiVersion": "v1",
            "clusters": [
                ["name": "c", "cluster": ["server": "https://compact.example", "insecure-skip-tls-verify": true]]
            ],
            "contexts": [["name": "x", "context": ["cluster": "c"]]],
            "current-context": "x",
        ]
        let data = try JSONSerialization.data(withJSONObject: object)
        var fixture = UpstreamFixture()
        fixture.files[UpstreamFixture.kubeconfigPath] = data
        let target = try fixture.resolve(.kubeconfig())
        #expect(target.baseURL.absoluteString == "https://compact.example")
        #expect(target.trust == .insecure)
    }
}

extension KubeconfigParsingTests {
    @Test func tabIndentedJSONIsRead() throws {
        let json =
            "{\n\t\"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\": \"https://tab.example\"}}],\n"
            + "\t\"contexts\": [{\"name\": \"x\", \"context\": {\"cluster\": \"c\"}}],\n\t\"current-context\": \"x\"\n}\n"
        #expect(
            try UpstreamFixture.with(kubeconfig: json).resolve(.kubeconfig()).baseURL.absoluteString
                == "https://tab.example")
    }

    @Test func malformedJSONNamesTheFileAndLine() throws {
        let error = try #require(refusal("{\n  \"kind\": \"Config\",\n  \"clusters\": ]\n}"))
        #expect(error.description.hasPrefix("kubeconfig /home/me/.kube/config: cannot parse JSON at line 3: "))
    }

    @Test func aWrongFieldTypeInJSONNamesTheField() throws {
        let error = try #require(refusal(#"{"clusters": [{"name": 1}]}"#))
        #expect(error.description == "kubeconfig /home/me/.kube/config: clusters[0].name: expected a string")
    }
}
