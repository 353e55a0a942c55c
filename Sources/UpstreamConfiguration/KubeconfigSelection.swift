import Foundation

/// A parsed kubeconfig with its context, cluster and user chosen: `--context` or
/// `current-context` picks the context, `--cluster` and `--user` override its choices.
struct KubeconfigSelection {
    let path: String
    let config: Kubeconfig
    let contextName: String?
    let clusterName: String?
    let userName: String?
    private let directory: String
    private let files: FileReader

    init(path: String, flags: UpstreamFlags, files: FileReader) throws(UpstreamConfigurationError) {
        let data: Data
        do {
            data = try files.read(path)
        } catch {
            throw .unreadableFile(what: "--kubeconfig", path: path, reason: "\(error)")
        }
        self.path = path
        self.files = files
        config = try Kubeconfig.parse(data, path: path)
        directory = (path as NSString).deletingLastPathComponent

        let context: Kubeconfig.Context?
        if let name = flags.context.nonEmpty ?? config.currentContext.nonEmpty {
            guard let found = config.context(named: name) else {
                throw .contextNotFound(name: name, kubeconfig: path, fromCurrentContext: flags.context.nonEmpty == nil)
            }
            (contextName, context) = (name, found)
        } else {
            (contextName, context) = (nil, nil)
        }
        clusterName = flags.cluster.nonEmpty ?? context?.cluster.nonEmpty
        userName = flags.user.nonEmpty ?? context?.user.nonEmpty
    }

    func clusterSettings(serverFlagGiven: Bool, allowsProxyURL: Bool = false) throws(UpstreamConfigurationError)
        -> ClusterSettings
    {
        guard let name = clusterName else {
            if serverFlagGiven { return ClusterSettings(source: "kubeconfig \(path)") }
            throw .noClusterSelected(kubeconfig: path)
        }
        guard let cluster = config.cluster(named: name) else { throw .clusterNotFound(name: name, kubeconfig: path) }
        func source(_ field: String) -> String { "cluster \"\(name)\" \(field) in \(path)" }

        if cluster.proxyURL.nonEmpty != nil && !allowsProxyURL {
            throw .unsupportedClusterSetting(cluster: name, setting: "proxy-url", kubeconfig: path)
        }
        var settings = ClusterSettings(source: "cluster \"\(name)\" in \(path)")
        settings.proxyURL = cluster.proxyURL.nonEmpty
        if let server = cluster.server.nonEmpty {
            settings.server = (server, source("server"))
        } else if !serverFlagGiven {
            throw .missingServer(source: settings.source)
        }
        settings.certificateAuthority = try material(
            data: cluster.certificateAuthorityData, dataSource: source("certificate-authority-data"),
            file: cluster.certificateAuthority, fileSource: source("certificate-authority"))
        settings.insecure = cluster.insecureSkipTLSVerify ?? false
        settings.tlsServerName = cluster.tlsServerName.nonEmpty
        return settings
    }

    /// The user's credential; with `replacedByFlags` the user must exist but what it holds is
    /// ignored, so a kubeconfig whose user runs an exec plugin still works with `--token`.
    func credential(replacedByFlags: Bool) throws(UpstreamConfigurationError) -> PendingCredential {
        guard let name = userName else { return .none }
        guard let user = config.user(named: name) else { throw .userNotFound(name: name, kubeconfig: path) }
        if replacedByFlags { return .none }
        func source(_ field: String) -> String { "user \"\(name)\" \(field) in \(path)" }

        if user.exec != nil { throw .unsupportedAuthentication(user: name, mechanism: "exec", kubeconfig: path) }
        if user.authProvider != nil {
            throw .unsupportedAuthentication(user: name, mechanism: "auth-provider", kubeconfig: path)
        }
        var found: [(method: String, credential: PendingCredential)] = []
        // tokenFile wins over token: client-go re-reads the file and falls back to the inline token
        // only while the file yields none (clientcmd api.AuthInfo.TokenFile).
        if let tokenFile = user.tokenFile.nonEmpty {
            let pending = PendingCredential.tokenFile(
                path: resolved(tokenFile), source: source("tokenFile"), fallback: user.token.nonEmpty)
            found.append(("tokenFile", pending))
        } else if let token = user.token.nonEmpty {
            found.append(("token", .token(token)))
        }
        let certificate = try material(
            data: user.clientCertificateData, dataSource: source("client-certificate-data"),
            file: user.clientCertificate, fileSource: source("client-certificate"))
        let key = try material(
            data: user.clientKeyData, dataSource: source("client-key-data"),
            file: user.clientKey, fileSource: source("client-key"))
        switch (certificate, key) {
        case (let certificate?, let key?):
            found.append(("client certificate", .clientCertificate(certificate: certificate, key: key)))
        case (.some, nil):
            throw .incompleteClientCertificate(
                user: name, present: "a client certificate", missing: "client-key or client-key-data", kubeconfig: path)
        case (nil, .some):
            throw .incompleteClientCertificate(
                user: name, present: "a client key", missing: "client-certificate or client-certificate-data",
                kubeconfig: path)
        case (nil, nil):
            break
        }
        if user.username.nonEmpty != nil || user.password.nonEmpty != nil {
            found.append(("username/password", .basic(username: user.username ?? "", password: user.password ?? "")))
        }
        guard found.count <= 1 else {
            throw .conflictingCredentials(user: name, methods: found.map(\.method), kubeconfig: path)
        }
        return found.first?.credential ?? .none
    }

    /// Inline data wins over a file, as in client-go; a relative file is relative to the kubeconfig.
    private func material(
        data: String?, dataSource: String, file: String?, fileSource: String
    ) throws(UpstreamConfigurationError) -> Material? {
        if let encoded = data.nonEmpty {
            let compact = encoded.filter { !$0.isWhitespace }
            guard let decoded = Data(base64Encoded: compact) else {
                throw .invalidData(what: dataSource, reason: "not valid base64")
            }
            return .inline(decoded, source: dataSource)
        }
        return file.nonEmpty.map { .file(path: resolved($0), source: fileSource) }
    }

    private func resolved(_ file: String) -> String {
        if file.hasPrefix("/") || directory.isEmpty { return file }
        return directory.hasSuffix("/") ? directory + file : directory + "/" + file
    }
}
