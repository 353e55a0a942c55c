import AuditBatcher
import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// Ships audit batches to the Banyan REST API, where the Command Center shows them.
///
/// The refresh token is exchanged for an access token (`POST /api/v1/refresh_token` with the
/// refresh token as bearer, no body, answer `{"Message": "<access token>"}`); batches go to
/// `<restapi><events-path>?service_name=<name>` with the access token as bearer, gzip-compressed
/// from 4 KiB. The access token is reused until a POST answers 401. Neither token is ever logged.
public final class BanyanSink: AuditSink {
    public struct Configuration: Sendable {
        /// Without a trailing slash: `https://net.banyanops.com`.
        public var restAPIURL: String
        public var serviceName: String
        public var eventsPath: String
        public var refreshTokenFile: String?
        /// `BANYAN_REFRESH_TOKEN`, used when there is no file.
        public var refreshToken: String?
        /// PEM roots trusted on top of the system roots.
        public var caFile: String?

        public init(
            restAPIURL: String, serviceName: String, eventsPath: String = "/api/v1/events/kubernetes",
            refreshTokenFile: String? = nil, refreshToken: String? = nil, caFile: String? = nil
        ) {
            self.restAPIURL = restAPIURL
            self.serviceName = serviceName
            self.eventsPath = eventsPath
            self.refreshTokenFile = refreshTokenFile
            self.refreshToken = refreshToken
            self.caFile = caFile
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public var backend: String { "banyan" }

    let eventsURL: String
    let exchangeURL: String
    private let refreshToken: TokenSource
    private let accessToken = Mutex<String?>(nil)
    private let transport: SinkTransport
    private let logger: Logger

    public init(_ configuration: Configuration, logger: Logger) throws {
        if let file = configuration.refreshTokenFile {
            refreshToken = TokenSource(.file(path: file))
        } else if let token = configuration.refreshToken {
            refreshToken = TokenSource(.value(token))
        } else {
            throw Failure(description: "no Banyan refresh token (file or BANYAN_REFRESH_TOKEN)")
        }
        var trust = SinkTransport.Trust.systemRoots
        if let caFile = configuration.caFile {
            guard let pem = FileManager.default.contents(atPath: caFile) else {
                throw Failure(description: "cannot read \(caFile)")
            }
            trust = .systemRootsAnd(pem: Array(pem))
        }
        transport = try SinkTransport(trust: trust)
        eventsURL =
            configuration.restAPIURL + configuration.eventsPath + "?service_name="
            + Self.percentEncoded(configuration.serviceName)
        exchangeURL = configuration.restAPIURL + "/api/v1/refresh_token"
        self.logger = logger
    }

    public func send(_ body: [UInt8]) async -> SinkAnswer {
        var token = accessToken.withLock { $0 }
        if token == nil {
            guard await refreshCredentials() else {
                return .failed(.retryable(retryAfter: nil), detail: "no access token: the token exchange failed")
            }
            token = accessToken.withLock { $0 }
        }
        guard let token else {
            return .failed(.retryable(retryAfter: nil), detail: "no access token: the token exchange failed")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token)")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "kube-oidc-proxy")
        let response: SinkTransport.Response
        do {
            response = try await transport.post(eventsURL, headers: headers, body: body, compress: true)
        } catch {
            return .failed(.retryable(retryAfter: nil), detail: SinkTransport.describe(error))
        }
        let answer = SinkResponse.classify(
            status: response.status, retryAfter: response.headers.first(name: "Retry-After"), body: response.body,
            redacting: secrets(token))
        if case .failed(.unauthorized, _) = answer {
            // Expired or revoked: the next send exchanges the refresh token again.
            accessToken.withLock { if $0 == token { $0 = nil } }
        }
        return answer
    }

    /// Exchanges the refresh token for a new access token. A refusal is logged with the server's
    /// message; the caller backs off and the events stay spooled.
    public func refreshCredentials() async -> Bool {
        guard let refresh = refreshToken.current() else {
            logger.error("Banyan refresh token is empty or unreadable; audit events stay spooled")
            return false
        }
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(refresh)")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "kube-oidc-proxy")
        let response: SinkTransport.Response
        do {
            response = try await transport.post(exchangeURL, headers: headers, body: nil)
        } catch {
            logger.warning(
                "Banyan token exchange failed; audit events stay spooled",
                metadata: ["error": "\(SinkTransport.describe(error))"])
            return false
        }
        guard (200..<300).contains(response.status), let token = Self.accessToken(in: response.body) else {
            logger.warning(
                "Banyan token exchange refused; audit events stay spooled",
                metadata: [
                    "status": "\(response.status)",
                    "message": "\(SinkResponse.message(response.body, redacting: secrets(refresh)))",
                ])
            return false
        }
        accessToken.withLock { $0 = token }
        logger.debug("Banyan access token obtained")
        return true
    }

    public func shutdown() async {
        await transport.shutdown()
    }

    /// Every credential a server might echo back, for redaction.
    private func secrets(_ extra: String) -> [String] {
        [extra, refreshToken.current() ?? "", accessToken.withLock { $0 } ?? ""]
    }

    /// `{"Message": "<access token>"}`.
    static func accessToken(in body: [UInt8]) -> String? {
        struct Answer: Decodable {
            var message: String
            enum CodingKeys: String, CodingKey { case message = "Message" }
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(body)) else { return nil }
        let token = answer.message.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// A query value as Go's `url.QueryEscape` would write it, less the `+` for spaces.
    static func percentEncoded(_ value: String) -> String {
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }
}
