import Foundation
import OIDCVerifier
import TestSupport

/// Runs `body` with a verifier configured against `issuer`, keys loaded, and always shuts it down.
func withVerifier<T>(
    _ issuer: TestIssuer,
    usernameClaim: String = "sub",
    usernamePrefix: String? = "-",
    groupsClaim: String? = nil,
    groupsPrefix: String = "",
    requiredClaims: [String: String] = [:],
    algorithms: [String] = ["RS256"],
    refresh: KeyRefreshSchedule.Configuration = .init(),
    loadKeys: Bool = true,
    _ body: (OIDCVerifier) async throws -> T
) async throws -> T {
    let configuration = try OIDCConfiguration(
        issuerURL: issuer.url, clientID: "kube", usernameClaim: usernameClaim, usernamePrefix: usernamePrefix,
        groupsClaim: groupsClaim, groupsPrefix: groupsPrefix, requiredClaims: requiredClaims,
        signingAlgorithms: algorithms, caFile: issuer.caFile, refresh: refresh)
    let verifier = try OIDCVerifier(configuration: configuration)
    do {
        if loadKeys { _ = await verifier.loadKeys() }
        let result = try await body(verifier)
        await verifier.shutdown()
        return result
    } catch {
        await verifier.shutdown()
        throw error
    }
}

extension OIDCVerifier {
    /// The refusal for `token`, or nil if it was accepted.
    func refusal(_ token: String) async -> TokenRefusal? {
        do {
            _ = try await verify(token)
            return nil
        } catch {
            return error
        }
    }
}

extension OIDCVerifier {
    /// `verify` with an untyped throw, which `#expect` can expand around.
    func accepted(_ token: String) async throws -> VerifiedToken {
        try await verify(token)
    }
}
