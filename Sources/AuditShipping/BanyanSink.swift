import AuditBatcher
import EgressProxy
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
        /// The egress proxy to go through (``EgressProxy/forTarget(scheme:host:port:environment:)``).
        public var proxy: EgressProxy?

        public init(
            restAPIURL: String, serviceName: String, eventsPath: String = "/api/v1/events/kubernetes",
            refreshTokenFile: String? = nil, refreshToken: String? = nil, caFile: String? = nil,
            proxy: EgressProxy? = nil
        ) {
            self.proxy = proxy
            self.restAPIURL = restAPIURL
            self.serviceName = serviceName
            self.eventsPath = eventsPath
            self.refreshTokenFile = refreshTokenFile
            self.refreshToken = refreshToken
            self.caFile = caFile
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        /// The flag whose value is at fault (without the dashes), when one is.
        public var flag: String? = nil
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
            throw Failure(
                flag: "banyan-refresh-token-file", description: "no Banyan refresh token (file or BANYAN_REFRESH_TOKEN)"
            )
        }
        // A token that cannot work is a startup error, not a complaint at the first batch (up to
        // five minutes later, or never without traffic).
        let tokenFlag = configuration.refreshTokenFile == nil ? nil : "banyan-refresh-token-file"
        switch refreshToken.read() {
        case .token: break
        case .missing:
            throw Failure(
                flag: tokenFlag,
                description: "the Banyan refresh token \(Self.describe(refreshToken)) is empty or cannot be read")
        case .malformed:
            throw Failure(
                flag: tokenFlag,
                description: "the Banyan refresh token \(Self.describe(refreshToken)) \(Self.malformedToken)")
        }
        var trust = SinkTransport.Trust.systemRoots
        if let caFile = configuration.caFile {
            guard let pem = FileManager.default.contents(atPath: caFile) else {
                throw Failure(flag: "banyan-ca-file", description: "cannot read \(caFile)")
            }
            trust = .systemRootsAnd(pem: Array(pem))
        }
        transport = try SinkTransport(trust: trust, proxy: configuration.proxy)
        eventsURL =
            configuration.restAPIURL + configuration.eventsPath + "?service_name="
            + Self.percentEncoded(configuration.serviceName)
        exchangeURL = configuration.restAPIURL + "/api/v1/refresh_token"
        self.logger = logger
    }

    public func send(_ body: [UInt8]) async -> SinkAnswer {
        var token = accessToken.withLock { $0 }
        if token == nil {
            if case .failed(let retryAfter) = await refreshCredentials() {
                return .failed(.retryable(retryAfter: retryAfter), detail: "no access token: the token exchange failed")
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
            location: response.headers.first(name: "Location"), redacting: secrets(token))
        if case .failed(.unauthorized, _) = answer {
            // Expired or revoked: the next send exchanges the refresh token again.
            accessToken.withLock { if $0 == token { $0 = nil } }
        }
        return answer
    }

    /// Exchanges the refresh token for a new access token. A refusal is logged with the server's
    /// message; the caller backs off and the events stay spooled.
    public func refreshCredentials() async -> CredentialRefresh {
        let refresh: String
        switch refreshToken.read() {
        case .token(let token): refresh = token
        case .missing:
            logger.error(
                "Banyan refresh token \(Self.describe(refreshToken)) is empty or unreadable; audit events stay spooled")
            return .failed(retryAfter: nil)
        case .malformed:
            logger.error(
                "Banyan refresh token \(Self.describe(refreshToken)) \(Self.malformedToken); audit events stay spooled")
            return .failed(retryAfter: nil)
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
            return .failed(retryAfter: nil)
        }
        if (200..<300).contains(response.status), Self.accessToken(in: response.body) == nil {
            // Not the answer's text: an access token in an unexpected shape must not reach a log.
            logger.warning(
                "Banyan token exchange answered without a usable access token; audit events stay spooled",
                metadata: [
                    "status": "\(response.status)", "expected": "{\"Message\": \"<access token>\"}",
                    "bytes": "\(response.body.count)",
                    "contentType": "\(response.headers.first(name: "Content-Type") ?? "")",
                ])
            return .failed(retryAfter: nil)
        }
        guard (200..<300).contains(response.status), let token = Self.accessToken(in: response.body) else {
            logger.warning(
                "Banyan token exchange refused; audit events stay spooled",
                metadata: [
                    "status": "\(response.status)",
                    "message": "\(SinkResponse.message(response.body, redacting: secrets(refresh)))",
                ])
            // A server that is busy or rate-limiting says when to come back.
            let busy = response.status == 429 || (500...599).contains(response.status)
            return .failed(
                retryAfter: busy
                    ? response.headers.first(name: "Retry-After").flatMap { SinkResponse.parseRetryAfter($0) } : nil)
        }
        accessToken.withLock { $0 = token }
        logger.debug("Banyan access token obtained")
        return .refreshed
    }

    public func shutdown() async {
        await transport.shutdown()
    }

    /// Every credential a server might echo back, for redaction.
    private func secrets(_ extra: String) -> [String] {
        [extra, refreshToken.current() ?? "", accessToken.withLock { $0 } ?? ""]
    }

    /// `{"Message": "<access token>"}`; the key in any case, as Go's `encoding/json` matches it.
    /// nil unless the message is a usable bearer token.
    static func accessToken(in body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let message = object.first(where: { $0.key.lowercased() == "message" })?.value as? String,
            case .token(let token) = TokenSource.reading(message)
        else { return nil }
        return token
    }

    private static let malformedToken =
        "has characters a bearer token cannot hold (spaces, control characters or non-ASCII; one token on one line)"

    /// Where the refresh token comes from, for a log line or an error (never the token).
    private static func describe(_ source: TokenSource) -> String {
        switch source.origin {
        case .file(let path): "in \(path)"
        case .value: "in BANYAN_REFRESH_TOKEN"
        }
    }

    /// A query value as Go's `url.QueryEscape` would write it, less the `+` for spaces.
    static func percentEncoded(_ value: String) -> String {
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }
}
