import Foundation

/// Resolves the API server and the proxy's credential for it as kubectl would: in-cluster
/// configuration when neither `--kubeconfig` nor `--server` is given, otherwise the kubeconfig,
/// with the client flags overriding it.
public struct UpstreamResolver: Sendable {
    public var environment: [String: String]
    public var files: FileReader
    public var inClusterPaths: InClusterPaths
    /// What the file names: the API server, or an audit webhook (plain http, `proxy-url`).
    public var role: UpstreamRole

    public init(
        environment: [String: String],
        files: FileReader = .fileSystem,
        inClusterPaths: InClusterPaths = .standard,
        role: UpstreamRole = .apiServer
    ) {
        self.environment = environment
        self.files = files
        self.inClusterPaths = inClusterPaths
        self.role = role
    }

    public func resolve(_ flags: UpstreamFlags) throws(UpstreamConfigurationError) -> UpstreamTarget {
        try checkFlags(flags)
        var cluster: ClusterSettings
        var credential: PendingCredential
        let origin: UpstreamTarget.Origin
        if let path = flags.kubeconfig.nonEmpty {
            let selection = try KubeconfigSelection(path: path, flags: flags, files: files)
            cluster = try selection.clusterSettings(
                serverFlagGiven: flags.server.nonEmpty != nil, allowsProxyURL: role.allowsProxyURL)
            credential = try selection.credential(replacedByFlags: flags.replacesCredential)
            origin = .kubeconfig(path: path, context: selection.contextName)
        } else if flags.server.nonEmpty != nil {
            cluster = ClusterSettings()
            credential = .none
            origin = .flags
        } else {
            (cluster, credential) = try inClusterSettings()
            origin = .inCluster
        }
        apply(flags, to: &cluster, credential: &credential)

        guard let server = cluster.server else {
            throw .missingServer(source: cluster.source)
        }
        let baseURL = try ServerURL.parse(server.value, source: server.source, role: role)
        let trust: UpstreamTarget.Trust
        switch (cluster.insecure, cluster.certificateAuthority) {
        case (true, .some):
            throw .insecureWithCertificateAuthority(source: cluster.source)
        case (true, nil):
            trust = .insecure
        case (false, let authority?):
            trust = .caPEM(try load(authority, expecting: .certificate))
        case (false, nil):
            trust = .systemRoots
        }
        var target = UpstreamTarget(
            baseURL: baseURL, trust: trust, tlsServerName: cluster.tlsServerName,
            credential: try materialize(credential), origin: origin)
        target.proxyURL = cluster.proxyURL
        return target
    }

    private func checkFlags(_ flags: UpstreamFlags) throws(UpstreamConfigurationError) {
        if flags.kubeconfig.nonEmpty == nil {
            for (flag, value) in [("--context", flags.context), ("--cluster", flags.cluster), ("--user", flags.user)]
            where value.nonEmpty != nil {
                throw .flagRequiresKubeconfig(flag: flag)
            }
        }
        if (flags.clientCertificate.nonEmpty == nil) != (flags.clientKey.nonEmpty == nil) {
            throw .clientCertificateFlagsIncomplete
        }
        if flags.token.nonEmpty != nil, flags.clientCertificate.nonEmpty != nil {
            throw .conflictingFlags("--token", "--client-certificate")
        }
        if flags.insecureSkipTLSVerify, flags.certificateAuthority.nonEmpty != nil {
            throw .insecureWithCertificateAuthority(source: "--certificate-authority with --insecure-skip-tls-verify")
        }
    }

    private func inClusterSettings() throws(UpstreamConfigurationError) -> (ClusterSettings, PendingCredential) {
        let host = environment["KUBERNETES_SERVICE_HOST"].nonEmpty
        let port = environment["KUBERNETES_SERVICE_PORT"].nonEmpty
        guard let host, let port else {
            throw .inClusterUnavailable(
                missingVariables: [("KUBERNETES_SERVICE_HOST", host), ("KUBERNETES_SERVICE_PORT", port)]
                    .filter { $0.1 == nil }.map(\.0))
        }
        let hostInURL = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        var cluster = ClusterSettings(source: "in-cluster configuration")
        cluster.server = (
            "https://\(hostInURL):\(port)", "in-cluster KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT"
        )
        cluster.certificateAuthority = .file(
            path: inClusterPaths.certificateAuthorityFile, source: "in-cluster certificate authority")
        return (
            cluster,
            .tokenFile(path: inClusterPaths.tokenFile, source: "in-cluster service account token", fallback: nil)
        )
    }

    /// client-go's override rules: `--insecure-skip-tls-verify` drops the kubeconfig's CA,
    /// `--certificate-authority` drops its insecure setting, `--server` drops its TLS server name.
    private func apply(_ flags: UpstreamFlags, to cluster: inout ClusterSettings, credential: inout PendingCredential) {
        if let server = flags.server.nonEmpty {
            cluster.server = (server, "--server")
            cluster.tlsServerName = nil
        }
        if flags.insecureSkipTLSVerify {
            cluster.insecure = true
            cluster.certificateAuthority = nil
        }
        if let authority = flags.certificateAuthority.nonEmpty {
            cluster.certificateAuthority = .file(path: authority, source: "--certificate-authority")
            cluster.insecure = false
        }
        if let token = flags.token.nonEmpty {
            credential = .token(token)
        }
        if let certificate = flags.clientCertificate.nonEmpty, let key = flags.clientKey.nonEmpty {
            credential = .clientCertificate(
                certificate: .file(path: certificate, source: "--client-certificate"),
                key: .file(path: key, source: "--client-key"))
        }
    }

    private func materialize(_ credential: PendingCredential) throws(UpstreamConfigurationError)
        -> UpstreamTarget.Credential
    {
        switch credential {
        case .none:
            return .none
        case .token(let token):
            return .bearerToken(token)
        case .tokenFile(let path, _, let fallback?):
            // As client-go: the file's token when it holds one, else the inline token (no start-up error).
            guard let data = try? files.read(path),
                String(decoding: data, as: UTF8.self).contains(where: { !$0.isWhitespace })
            else { return .bearerToken(fallback) }
            return .bearerTokenFile(path)
        case .tokenFile(let path, let source, nil):
            // Read once so a missing file stops start-up; the proxy re-reads it as it rotates.
            _ = try read(path, source: source)
            return .bearerTokenFile(path)
        case .clientCertificate(let certificate, let key):
            return .clientCertificate(
                certificatePEM: try load(certificate, expecting: .certificate),
                keyPEM: try load(key, expecting: .privateKey))
        case .basic(let username, let password):
            return .basic(username: username, password: password)
        }
    }

    private func load(_ material: Material, expecting kind: PEMKind) throws(UpstreamConfigurationError) -> Data {
        let data: Data
        let source: String
        switch material {
        case .inline(let inline, let inlineSource):
            (data, source) = (inline, inlineSource)
        case .file(let path, let fileSource):
            (data, source) = (try read(path, source: fileSource), fileSource)
        }
        try kind.check(data, source: source)
        return data
    }

    private func read(_ path: String, source: String) throws(UpstreamConfigurationError) -> Data {
        do {
            return try files.read(path)
        } catch {
            throw .unreadableFile(what: source, path: path, reason: "\(error)")
        }
    }
}

extension UpstreamFlags {
    /// `--token` or `--client-certificate` stand in for whatever the kubeconfig user holds.
    var replacesCredential: Bool {
        token.nonEmpty != nil || clientCertificate.nonEmpty != nil
    }
}

/// The cluster half of the configuration before flags apply. `source` names the cluster for errors.
struct ClusterSettings {
    var source = "flags"
    var server: (value: String, source: String)?
    var certificateAuthority: Material?
    var insecure = false
    var tlsServerName: String?
    /// The cluster's `proxy-url`, where the resolver takes it.
    var proxyURL: String?
}

/// A credential whose files are not read yet.
enum PendingCredential {
    case none
    case token(String)
    /// `fallback`: the kubeconfig's inline `token`, used when the file yields no token.
    case tokenFile(path: String, source: String, fallback: String?)
    case clientCertificate(certificate: Material, key: Material)
    case basic(username: String, password: String)
}

/// PEM content given inline or by file; `source` names the flag or kubeconfig entry.
enum Material {
    case inline(Data, source: String)
    case file(path: String, source: String)
}

enum PEMKind {
    case certificate
    case privateKey

    /// A cheap shape check, so a swapped or truncated file is named at start-up rather than
    /// failing later inside a TLS handshake.
    func check(_ data: Data, source: String) throws(UpstreamConfigurationError) {
        let text = String(decoding: data, as: UTF8.self)
        switch self {
        case .certificate:
            guard text.contains("-----BEGIN CERTIFICATE-----") else {
                throw .invalidData(what: source, reason: "no PEM certificate (-----BEGIN CERTIFICATE-----)")
            }
        case .privateKey:
            guard text.contains("-----BEGIN "), text.contains("PRIVATE KEY-----") else {
                throw .invalidData(what: source, reason: "no PEM private key (-----BEGIN ... PRIVATE KEY-----)")
            }
        }
    }
}
