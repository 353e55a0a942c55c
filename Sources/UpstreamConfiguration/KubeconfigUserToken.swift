import Foundation

/// The bearer token a kubeconfig user holds, chosen as kubectl chooses it (`--context` or
/// `current-context`, then `--user`): what `check-token --kubeconfig` judges.
public struct KubeconfigUserToken: Sendable, Equatable {
    /// The user entry the token came from.
    public let user: String
    public let token: String

    public init(user: String, token: String) {
        self.user = user
        self.token = token
    }

    /// Reads the file `tokenFile` names (relative to the kubeconfig), or `token` when there is none
    /// or it cannot be read or is empty, as client-go chooses. A user that gets its token from an
    /// exec plugin or an auth provider is refused with the mechanism named.
    public static func read(
        kubeconfig path: String, context: String? = nil, user: String? = nil, files: FileReader = .fileSystem
    ) throws(UpstreamConfigurationError) -> KubeconfigUserToken {
        let selection = try KubeconfigSelection(
            path: path, flags: UpstreamFlags(kubeconfig: path, context: context, user: user), files: files)
        guard let name = selection.userName else { throw .noUserSelected(kubeconfig: path) }
        switch try selection.credential(replacedByFlags: false) {
        case .token(let token):
            return KubeconfigUserToken(user: name, token: token)
        case .tokenFile(let tokenPath, let source, let fallback):
            let data: Data
            do {
                data = try files.read(tokenPath)
            } catch {
                guard let fallback else { throw .unreadableFile(what: source, path: tokenPath, reason: "\(error)") }
                return KubeconfigUserToken(user: name, token: fallback)
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return KubeconfigUserToken(user: name, token: token.isEmpty ? fallback ?? token : token)
        case .clientCertificate:
            throw .userHasNoToken(user: name, holds: "a client certificate", kubeconfig: path)
        case .basic:
            throw .userHasNoToken(user: name, holds: "a username and password", kubeconfig: path)
        case .none:
            throw .userHasNoToken(user: name, holds: "no credential", kubeconfig: path)
        }
    }
}
