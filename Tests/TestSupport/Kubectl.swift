import Foundation

/// The `kubectl` on this machine, each run with a private home of its own (removed after) so its
/// discovery cache and config never touch (or read) the user's, nor outlive the run.
public struct Kubectl: Sendable {
    public let path: String

    /// The first `kubectl` on `PATH` (or in the usual places), or nil when there is none.
    public static func find() -> Kubectl? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates =
            path.split(separator: ":").map { "\($0)/kubectl" } + ["/usr/local/bin/kubectl", "/usr/bin/kubectl"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        return Kubectl(path: found)
    }

    public func run(_ arguments: [String]) async throws -> ProxyProcess.Result {
        let home = try TemporaryDirectory("kubectl-home")
        defer { home.remove() }
        return try await ProxyProcess.runTool(
            path, arguments, environment: ["HOME": home.path, "PATH": "/usr/bin:/bin"])
    }

    /// The client's minor version (`32` for 1.32.4), or nil when it cannot be read.
    public var minorVersion: Int? {
        get async {
            guard let output = try? await run(["version", "--client", "-o", "json"]),
                let object = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
                let minor = (object["clientVersion"] as? [String: Any])?["minor"] as? String
            else { return nil }
            return Int(minor.prefix { $0.isNumber })
        }
    }

    /// Whether this kubectl has `auth whoami` (1.28 and later without feature gates).
    public var hasAuthWhoami: Bool {
        get async { ((try? await run(["auth", "whoami", "--help"]))?.status ?? 1) == 0 }
    }

    /// The `SelfSubjectReview` the API server returns for this kubeconfig's user: `kubectl auth
    /// whoami -o json`, or the same review posted with `kubectl create --raw` on an older kubectl.
    public func selfSubjectReview(kubeconfig: String) async throws -> ProxyProcess.Result {
        if await hasAuthWhoami {
            return try await run(["--kubeconfig", kubeconfig, "auth", "whoami", "-o", "json"])
        }
        let directory = try TemporaryDirectory("ssr")
        defer { directory.remove() }
        let body = try directory.write(
            #"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview","metadata":{}}"#, to: "review.json")
        return try await run(
            [
                "--kubeconfig", kubeconfig, "create", "--raw", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                "-f", body,
            ])
    }
}
