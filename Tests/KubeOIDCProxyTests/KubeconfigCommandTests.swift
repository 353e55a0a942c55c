import Foundation
import TestSupport
import Testing

/// `kube-oidc-proxy kubeconfig`: what it writes is what kubectl reads.
@Suite struct KubeconfigCommandTests {
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBgTCCASegAwIBAgIUdummydummydummydummydummydummyMAoGCCqGSM49BAMC
        -----END CERTIFICATE-----

        """

    static func view(_ kubectl: Kubectl, _ kubeconfig: String) async throws -> [String: Any] {
        let view = try await kubectl.run(["config", "view", "--kubeconfig", kubeconfig, "--raw", "-o", "json"])
        #expect(view.status == 0, "\(view.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(view.stdout.utf8)) as? [String: Any])
    }

    static func entry(_ config: [String: Any], _ list: String, _ field: String) -> [String: Any]? {
        ((config[list] as? [[String: Any]])?.first)?[field] as? [String: Any]
    }

    @Test func aTokenKubeconfigIsWhatKubectlReads() async throws {
        let kubectl = try #require(Kubectl.find(), "kubectl is not installed")
        let directory = try TemporaryDirectory("kubeconfig-command")
        defer { directory.remove() }
        let caFile = try directory.write(Self.caPEM, to: "ca.crt")
        let output = directory.file("kubeconfig")
        let result = try await ProxyProcess.run([
            "kubeconfig", "--cluster-name=banyan-prod", "--server=k8s.banyan.example:8443", "--ca-file=\(caFile)",
            "--proxy-url=http://localhost:8443", "--namespace=team-a", "--token=abc.def.ghi", "-o", output,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        let mode = try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let config = try await Self.view(kubectl, output)
        #expect(config["current-context"] as? String == "banyan-prod")
        let cluster = try #require(Self.entry(config, "clusters", "cluster"))
        #expect(cluster["server"] as? String == "https://k8s.banyan.example:8443")
        #expect(cluster["proxy-url"] as? String == "http://localhost:8443")
        #expect(cluster["certificate-authority-data"] as? String == Data(Self.caPEM.utf8).base64EncodedString())
        #expect(Self.entry(config, "users", "user")?["token"] as? String == "abc.def.ghi")
        let context = try #require(Self.entry(config, "contexts", "context"))
        #expect(context["cluster"] as? String == "banyan-prod")
        #expect(context["namespace"] as? String == "team-a")
        let contexts = try await kubectl.run(["config", "get-contexts", "--kubeconfig", output, "-o", "name"])
        #expect(contexts.stdout == "banyan-prod\n")
    }

    @Test func anExecPluginKubeconfigGoesToStandardOutput() async throws {
        let kubectl = try #require(Kubectl.find(), "kubectl is not installed")
        let result = try await ProxyProcess.run([
            "kubeconfig", "--cluster-name=banyan-prod", "--server=https://k8s.banyan.example",
            "--exec-command=banyanc", "--exec-arg=kube", "--exec-arg=token", "--exec-env=BANYAN_PROFILE=work",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let directory = try TemporaryDirectory("kubeconfig-command")
        defer { directory.remove() }
        let file = try directory.write(result.stdout, to: "kubeconfig")
        let exec = try #require(
            Self.entry(try await Self.view(kubectl, file), "users", "user")?["exec"] as? [String: Any])
        #expect(exec["command"] as? String == "banyanc")
        #expect(exec["args"] as? [String] == ["kube", "token"])
        #expect(exec["apiVersion"] as? String == "client.authentication.k8s.io/v1")
        // Older kubectl (Debian's 1.20) drops interactiveMode, which it does not know, when it prints.
        if (await kubectl.minorVersion ?? 0) >= 22 {
            #expect(exec["interactiveMode"] as? String == "IfAvailable")
        }
        #expect((exec["env"] as? [[String: String]]) == [["name": "BANYAN_PROFILE", "value": "work"]])
    }

    @Test func aBadClusterNameIsRefusedNamingTheFlag() async throws {
        let result = try await ProxyProcess.run([
            "kubeconfig", "--cluster-name=Banyan_Prod", "--server=k8s.banyan.example:443", "--token=t",
        ])
        #expect(result.status == 2)
        #expect(
            result.stderr
                == "kube-oidc-proxy kubeconfig: invalid value for --cluster-name: \"Banyan_Prod\" is not a Kubernetes "
                + "object name: 'B' is not allowed (lowercase letters, digits and '-', starting and ending with a "
                + "letter or digit, at most 63 characters)\n")
        #expect(result.stdout.isEmpty)
        let long = try await ProxyProcess.run([
            "kubeconfig", "--cluster-name=\(String(repeating: "a", count: 64))", "--server=k8s:443", "--token=t",
        ])
        #expect(long.status == 2)
        #expect(long.stderr.contains("--cluster-name") && long.stderr.contains("64 characters, more than 63"))
    }

    @Test func otherMistakesNameTheirFlag() async throws {
        let cases: [([String], String)] = [
            (["--server=k8s:443", "--token=t"], "--cluster-name: is required"),
            (["--cluster-name=c", "--token=t"], "--server: is required"),
            (["--cluster-name=c", "--server=http://k8s", "--token=t"], "--server: \"http://k8s\" must be https"),
            (["--cluster-name=c", "--server=k8s"], "--token: the user needs a credential"),
            (["--cluster-name=c", "--server=k8s", "--token=t", "--exec-command=x"], "--exec-command: give only one"),
            (["--cluster-name=c", "--server=k8s", "--token=t", "--proxy-url=localhost"], "--proxy-url:"),
            (["--cluster-name=c", "--server=k8s", "--token=t", "--bogus"], "unknown flag: --bogus"),
        ]
        for (flags, words) in cases {
            let result = try await ProxyProcess.run(["kubeconfig"] + flags)
            #expect(result.status == 2, "\(flags)")
            #expect(result.stderr.contains(words), "\(flags): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        let unreadable = try await ProxyProcess.run([
            "kubeconfig", "--cluster-name=c", "--server=k8s", "--token=t", "--ca-file=/nonexistent.pem",
        ])
        #expect(unreadable.status == 1)
        #expect(unreadable.stderr.contains("--ca-file"))
    }
}
