import CommandLineFlags
import Foundation
import KubeconfigGeneration
import ProxyConfiguration
import ProxyServer

/// `kube-oidc-proxy kubeconfig`: writes a kubeconfig for a user of the proxy.
enum KubeconfigCommand {
    static func run(_ arguments: [String]) {
        func fail(_ message: String, exitCode: Int32) -> Never {
            KubeOIDCProxy.fail(message, exitCode: exitCode, command: "kubeconfig")
        }
        let flags = KubeOIDCProxy.parseFlags(KubeconfigFlags.flagSet, arguments, command: "kubeconfig")
        if flags.bool("help") {
            KubeOIDCProxy.output(
                """
                Writes a kubeconfig for a user of kube-oidc-proxy, as the Banyan desktop app does: one cluster
                (the proxy's address and CA, optionally reached through a local tunnel), one user (a token or
                an exec credential plugin) and one context, made current.

                Usage:
                  kube-oidc-proxy kubeconfig --cluster-name NAME --server HOST:PORT [--ca-file FILE] \\
                      (--token TOKEN | --token-file FILE | --exec-command CMD [--exec-arg ARG]...) [-o FILE]

                Flags:

                """ + KubeconfigFlags.flagSet.usage())
            exit(0)
        }
        let options: KubeconfigOptions
        do {
            options = try KubeconfigOptions(flags)
        } catch {
            fail(error.description, exitCode: error.exitCode)
        }
        var certificateAuthority: Data?
        if let caFile = options.caFile {
            guard let data = FileManager.default.contents(atPath: caFile) else {
                fail(StartupError(flag: "ca-file", "cannot read file \(caFile)", exitCode: 1).description, exitCode: 1)
            }
            guard String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                fail(
                    StartupError(flag: "ca-file", "\(caFile) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                        .description, exitCode: 1)
            }
            certificateAuthority = data
        }
        let yaml = options.kubeconfig(certificateAuthorityPEM: certificateAuthority).yaml()
        guard let path = options.outputPath else {
            KubeOIDCProxy.output(yaml)
            exit(0)
        }
        do {
            try PrivateFile.write(Data(yaml.utf8), to: path)
        } catch {
            fail(StartupError(flag: "output", "cannot write \(path): \(error)", exitCode: 1).description, exitCode: 1)
        }
        FileHandle.standardError.write(Data("kubeconfig for cluster \(options.clusterName) written to \(path)\n".utf8))
        exit(0)
    }
}
