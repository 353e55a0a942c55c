import Foundation
import Yams

/// The parts of a kubeconfig file (`apiVersion: v1`, `kind: Config`) the proxy reads. JSON
/// kubeconfigs parse too: JSON is YAML.
struct Kubeconfig: Decodable, Equatable {
    struct Cluster: Decodable, Equatable, KubeconfigEntryBody {
        static let field = "cluster"
        static let kind = "cluster"

        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        var tlsServerName: String?
        var proxyURL: String?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
            case tlsServerName = "tls-server-name"
            case proxyURL = "proxy-url"
        }
    }

    struct User: Decodable, Equatable, KubeconfigEntryBody {
        static let field = "user"
        static let kind = "user"

        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var username: String?
        var password: String?
        var exec: Present?
        var authProvider: Present?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, username, password, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    struct Context: Decodable, Equatable, KubeconfigEntryBody {
        static let field = "context"
        static let kind = "context"

        var cluster: String?
        var user: String?
        var namespace: String?
    }

    /// A field whose presence matters but whose content is never read.
    struct Present: Decodable, Equatable {
        init(from decoder: any Decoder) throws {}
    }

    var apiVersion: String?
    var kind: String?
    var clusters: [NamedEntry<Cluster>]?
    var users: [NamedEntry<User>]?
    var contexts: [NamedEntry<Context>]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case apiVersion, kind, clusters, users, contexts
        case currentContext = "current-context"
    }

    init() {}

    func cluster(named name: String) -> Cluster? {
        clusters?.first { $0.name == name }.map { $0.body ?? Cluster() }
    }

    func user(named name: String) -> User? {
        users?.first { $0.name == name }.map { $0.body ?? User() }
    }

    func context(named name: String) -> Context? {
        contexts?.first { $0.name == name }.map { $0.body ?? Context() }
    }
}

/// The body of a named list entry: `clusters[].cluster`, `users[].user`, `contexts[].context`.
protocol KubeconfigEntryBody: Decodable, Equatable {
    static var field: String { get }
    static var kind: String { get }
}

struct NamedEntry<Body: KubeconfigEntryBody>: Decodable, Equatable {
    var name: String?
    var body: Body?

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        name = try container.decodeIfPresent(String.self, forKey: Key(stringValue: "name"))
        body = try container.decodeIfPresent(Body.self, forKey: Key(stringValue: Body.field))
    }
}

extension Kubeconfig {
    /// Parses and checks a kubeconfig's shape; `path` only names the file in errors. A file
    /// opening with `{` is JSON, as client-go decides; anything else is YAML.
    static func parse(_ data: Data, path: String) throws(UpstreamConfigurationError) -> Kubeconfig {
        guard let text = String(data: data, encoding: .utf8) else {
            throw .kubeconfigSyntax(path: path, format: "YAML", line: nil, reason: "not UTF-8 text")
        }
        if text.first(where: { !$0.isWhitespace }) == "{" { return try parseJSON(data, path: path) }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, path: path)
        } catch {
            throw .kubeconfigSyntax(path: path, format: "YAML", line: nil, reason: "\(error)")
        }
        guard let node else { return Kubeconfig() }
        let config: Kubeconfig
        do {
            config = try YAMLDecoder().decode(Kubeconfig.self, from: node)
        } catch let error as DecodingError {
            throw shapeError(error, root: node, path: path)
        } catch {
            throw .kubeconfigInvalid(path: path, line: nil, reason: "\(error)")
        }
        try config.validate(root: node, path: path)
        return config
    }

    private static func parseJSON(_ data: Data, path: String) throws(UpstreamConfigurationError) -> Kubeconfig {
        let config: Kubeconfig
        do {
            config = try JSONDecoder().decode(Kubeconfig.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            let (line, reason) = jsonSyntaxProblem(data)
            throw .kubeconfigSyntax(path: path, format: "JSON", line: line, reason: reason ?? context.debugDescription)
        } catch let error as DecodingError {
            throw shapeError(error, root: nil, path: path)
        } catch {
            throw .kubeconfigSyntax(path: path, format: "JSON", line: nil, reason: "\(error)")
        }
        try config.validate(root: nil, path: path)
        return config
    }

    /// JSONDecoder on Linux does not say what is wrong; JSONSerialization does, as a character offset.
    private static func jsonSyntaxProblem(_ data: Data) -> (line: Int?, reason: String?) {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
            return (nil, nil)
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            guard let reason, let range = reason.range(of: #"character \d+"#, options: .regularExpression),
                let offset = Int(reason[range].dropFirst("character ".count))
            else { return (nil, reason) }
            let line = data.prefix(offset).count(where: { $0 == UInt8(ascii: "\n") }) + 1
            return (line, reason)
        }
    }

    private func validate(root: Node?, path: String) throws(UpstreamConfigurationError) {
        if let kind, kind != "Config" {
            throw .kubeconfigInvalid(
                path: path, line: root?["kind"]?.mark?.line, reason: "kind is \"\(kind)\", expected Config")
        }
        if let apiVersion, apiVersion != "v1" {
            throw .kubeconfigInvalid(
                path: path, line: root?["apiVersion"]?.mark?.line,
                reason: "apiVersion is \"\(apiVersion)\", expected v1")
        }
        try Self.checkNames(clusters, list: "clusters", root: root, path: path)
        try Self.checkNames(users, list: "users", root: root, path: path)
        try Self.checkNames(contexts, list: "contexts", root: root, path: path)
    }

    /// Every entry needs a name, and a name may appear once: client-go refuses duplicates.
    private static func checkNames<Body>(
        _ entries: [NamedEntry<Body>]?, list: String, root: Node?, path: String
    ) throws(UpstreamConfigurationError) {
        var seen = Set<String>()
        for (index, entry) in (entries ?? []).enumerated() {
            let line = root?[list]?.sequence.flatMap { index < $0.count ? $0[index].mark?.line : nil }
            guard let name = entry.name, !name.isEmpty else {
                throw .kubeconfigInvalid(path: path, line: line, reason: "\(list)[\(index)] has no name")
            }
            guard seen.insert(name).inserted else {
                throw .kubeconfigInvalid(path: path, line: line, reason: "duplicate \(Body.kind) name \"\(name)\"")
            }
        }
    }

    private static func syntaxError(_ error: YamlError, path: String) -> UpstreamConfigurationError {
        func reason(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return .kubeconfigSyntax(path: path, format: "YAML", line: mark.line, reason: reason(problem, context))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .kubeconfigSyntax(
                path: path, format: "YAML", line: context.mark.line,
                reason: "duplicate key \(duplicates.sorted().joined(separator: ", "))")
        case .reader(let problem, _, _, _):
            return .kubeconfigSyntax(path: path, format: "YAML", line: nil, reason: problem)
        default:
            return .kubeconfigSyntax(path: path, format: "YAML", line: nil, reason: "\(error)")
        }
    }

    private static func shapeError(_ error: DecodingError, root: Node?, path: String) -> UpstreamConfigurationError {
        let context: DecodingError.Context
        let expectation: String
        switch error {
        case .typeMismatch(let type, let errorContext):
            context = errorContext
            expectation = "expected \(describe(type))"
        case .valueNotFound(let type, let errorContext):
            context = errorContext
            expectation = "expected \(describe(type))"
        case .keyNotFound(let key, let errorContext):
            context = errorContext
            expectation = "missing \(key.stringValue)"
        case .dataCorrupted(let errorContext):
            context = errorContext
            expectation = errorContext.debugDescription
        @unknown default:
            return .kubeconfigInvalid(path: path, line: nil, reason: "\(error)")
        }
        let field = render(context.codingPath)
        return .kubeconfigInvalid(
            path: path, line: root.flatMap { node(at: context.codingPath, in: $0) }?.mark?.line,
            reason: field.isEmpty ? expectation : "\(field): \(expectation)")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Node.Scalar.Type: "a single value"
        case is Node.Mapping.Type: "a mapping"
        case is Node.Sequence.Type: "a list"
        default: "\(type)".hasPrefix("Array") ? "a list" : "a mapping"
        }
    }

    private static func render(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    /// The node a coding path leads to, for its line number.
    private static func node(at path: [any CodingKey], in root: Node) -> Node? {
        var current = root
        for key in path {
            if let index = key.intValue, let sequence = current.sequence {
                guard index < sequence.count else { return current }
                current = sequence[index]
            } else if let next = current[key.stringValue] {
                current = next
            } else {
                return current
            }
        }
        return current
    }
}
