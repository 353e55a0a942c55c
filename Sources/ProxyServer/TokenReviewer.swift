import AsyncHTTPClient
import Foundation
import Impersonation
import NIOCore
import NIOHTTP1

/// `--token-passthrough`: asks the API server, with a TokenReview, whether it accepts a token
/// the OIDC verifier refused (a service-account token, say).
public final class TokenReviewer: Sendable {
    enum Outcome: Sendable, Equatable {
        /// The API server accepts the token as `user` (its TokenReview's `status.user`), whom
        /// the exchange is audited as.
        case authenticated(ImpersonatedUser)
        case unauthenticated
        case failed(String)
    }

    let upstream: UpstreamClient
    let audiences: [String]

    public init(upstream: UpstreamClient, audiences: [String]) {
        self.upstream = upstream
        self.audiences = audiences
    }

    func review(_ token: String) async -> Outcome {
        var spec: [String: Any] = ["token": token]
        if !audiences.isEmpty { spec["audiences"] = audiences }
        let document: [String: Any] = [
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec,
        ]
        guard let body = try? JSONSerialization.data(withJSONObject: document) else { return .failed("encoding") }
        var request = HTTPClientRequest(url: upstream.url(for: "/apis/authentication.k8s.io/v1/tokenreviews"))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization = upstream.authorization() {
            request.headers.add(name: "Authorization", value: authorization)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await upstream.execute(request, deadline: .now() + .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .created || response.status == .ok else {
                return .failed("TokenReview answered \(response.status.code)")
            }
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
                let status = object["status"] as? [String: Any]
            else { return .failed("TokenReview answer has no status") }
            guard status["authenticated"] as? Bool == true else { return .unauthenticated }
            if !audiences.isEmpty {
                let granted = Set(status["audiences"] as? [String] ?? [])
                guard !granted.isDisjoint(with: audiences) else { return .unauthenticated }
            }
            let user = status["user"] as? [String: Any]
            return .authenticated(
                ImpersonatedUser(
                    username: user?["username"] as? String ?? "", groups: user?["groups"] as? [String] ?? []))
        } catch let error as HTTPClientError {
            // Its full description can repeat the request's headers, the proxy's own
            // `Authorization` among them; the outcome is logged.
            return .failed(error.shortDescription)
        } catch {
            return .failed("\(error)")
        }
    }
}
