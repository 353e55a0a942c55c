import AsyncHTTPClient
import Crypto
import Foundation
import Impersonation
import NIOCore
import NIOHTTP1
import Synchronization

/// `--token-passthrough`: asks the API server, with a TokenReview, whether it accepts a token
/// the OIDC verifier refused (a service-account token, say).
///
/// Every request whose token OIDC refuses would cost the API server a review, made with the
/// proxy's credentials and counted against its flow: one client repeating a token, or sending
/// garbage, could starve the proxy's other users there. So answers are remembered by the
/// token's SHA-256 (never the token), an acceptance for 10 s as the API server's own token cache
/// keeps one, a refusal for 2 s; concurrent reviews of one token are one review; and at most
/// 16 run at once, a request past that being refused rather than queued.
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

    private struct Memory {
        var answers: [SHA256Digest: (outcome: Outcome, until: ContinuousClock.Instant)] = [:]
        var inFlight: [SHA256Digest: Task<Outcome, Never>] = [:]
    }

    private let memory = Mutex(Memory())
    static let acceptanceLifetime: Duration = .seconds(10)
    static let refusalLifetime: Duration = .seconds(2)
    static let capacity = 10_000
    static let maximumInFlight = 16

    public init(upstream: UpstreamClient, audiences: [String]) {
        self.upstream = upstream
        self.audiences = audiences
    }

    func review(_ token: String) async -> Outcome {
        var bytes = token
        let key = bytes.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        enum Step {
            case known(Outcome)
            case await(Task<Outcome, Never>, asked: Bool)
            case busy
        }
        let now = ContinuousClock.now
        let step = memory.withLock { memory -> Step in
            if let known = memory.answers[key], now < known.until { return .known(known.outcome) }
            if let running = memory.inFlight[key] { return .await(running, asked: false) }
            guard memory.inFlight.count < Self.maximumInFlight else { return .busy }
            let asking = Task { await self.ask(token) }
            memory.inFlight[key] = asking
            return .await(asking, asked: true)
        }
        switch step {
        case .known(let outcome):
            return outcome
        case .busy:
            return .failed("more than \(Self.maximumInFlight) TokenReviews in flight")
        case .await(let running, let asked):
            let outcome = await running.value
            if asked { remember(outcome, for: key) }
            return outcome
        }
    }

    private func remember(_ outcome: Outcome, for key: SHA256Digest) {
        let lifetime: Duration? =
            switch outcome {
            case .authenticated: Self.acceptanceLifetime
            case .unauthenticated: Self.refusalLifetime
            case .failed: nil
            }
        let now = ContinuousClock.now
        memory.withLock { memory in
            memory.inFlight[key] = nil
            guard let lifetime else { return }
            if memory.answers.count >= Self.capacity {
                memory.answers = memory.answers.filter { now < $0.value.until }
                if memory.answers.count >= Self.capacity { memory.answers.removeAll() }
            }
            memory.answers[key] = (outcome, now + lifetime)
        }
    }

    private func ask(_ token: String) async -> Outcome {
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
