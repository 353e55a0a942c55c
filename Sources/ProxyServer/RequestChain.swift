import AsyncHTTPClient
import Foundation
import HTTPTypes
import Impersonation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import OIDCVerifier

/// A request as the proxy received it.
struct ProxyRequest: Sendable {
    let head: HTTPRequestHead
    let body: BodyPipe
    /// The client's IP address as text, for `X-Forwarded-For` and the audit event's `sourceIPs`.
    let clientIP: String?
    let isHTTP2: Bool

    /// Decided once, where the request arrives. Upgrades are HTTP/1.1 only: kubectl switches to
    /// HTTP/1.1 for exec, attach and port-forward.
    let isUpgrade: Bool
}

/// What the proxy does to every request, in the order the Kubernetes API server's own handler
/// chain does it: authenticate → impersonate → audit → forward.
public final class RequestChain: Sendable {
    public struct Options: Sendable {
        public var disableImpersonation = false
        public var tokenPassthrough = false
        public var impersonation = ImpersonationOptions()
        public var requestTimeout: Duration?
        /// Response bytes written but not yet flushed go out at the latest this long after
        /// (`--flush-interval`); zero: only at the flush points (64 KiB, the end, every chunk
        /// of a streamed response).
        public var flushInterval: Duration = .milliseconds(50)

        public init() {}
    }

    let verifier: OIDCVerifier
    let upstream: UpstreamClient
    let tokenReviewer: TokenReviewer?
    let options: Options
    let metrics: ProxyMetrics
    let logger: Logger
    let auditor: any ExchangeAuditor
    private let impersonation: ImpersonationFilter
    /// An API server that is down, or a TokenReview that keeps failing, fails every request:
    /// logged once, then at most every 10 s with a count.
    private let failures = RepeatedFailureLog()

    public init(
        verifier: OIDCVerifier, upstream: UpstreamClient, tokenReviewer: TokenReviewer?, options: Options,
        metrics: ProxyMetrics, logger: Logger, auditor: any ExchangeAuditor = DiscardingAuditor()
    ) {
        self.auditor = auditor
        self.verifier = verifier
        self.upstream = upstream
        self.tokenReviewer = tokenReviewer
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.impersonation = ImpersonationFilter(options: options.impersonation)
    }

    /// The chain, in the Kubernetes API server's order: authenticate → impersonate → audit → forward.
    func handle(_ request: ProxyRequest, writer: ClientResponseWriter) async {
        var writer = writer
        var audit = ExchangeAuditContext(auditor: auditor, request: request)
        if auditor.isEnabled { writer.auditID = audit.auditID }
        let started = ContinuousClock.now
        // Converted once: both the credential and the impersonation step read these.
        let fields = HTTPFields(request.head.headers)
        let code: Int
        switch await authenticate(fields) {
        case .failure(let refusal):
            audit.decideForFailedAuthentication()
            code = await respond(refusal, to: request, writer: writer, audit: &audit)
        case .success(let authenticated):
            audit.decide(for: authenticated.user)
            switch impersonate(request, fields: fields, as: authenticated) {
            case .failure(let refusal):
                code = await respond(refusal, to: request, writer: writer, audit: &audit)
            case .success(var headers):
                // The API server takes a request's `Audit-ID` as its own and echoes it, so its audit
                // log and ours name the exchange alike. Ours replaces one the client sent: a client
                // choosing its IDs could make receivers that dedupe by ID discard its events.
                if auditor.isEnabled { headers.replaceOrAdd(name: "Audit-ID", value: audit.auditID) }
                code =
                    request.isUpgrade
                    ? await tunnel(
                        request, headers: headers, mode: authenticated.mode, writer: writer, audit: &audit)
                    : await forward(
                        request, headers: headers, mode: authenticated.mode, writer: writer, audit: &audit)
            }
        }
        // Whatever was not recorded before the response completed: a tunnel, a client gone.
        audit.record(code: code)
        metrics.requestCompleted(
            method: request.head.method.rawValue, code: code, duration: ContinuousClock.now - started)
    }

    /// Who is asking, and whether the request goes on as them (impersonation) or as it came.
    struct Authenticated: Sendable {
        var user: ImpersonatedUser
        var mode: ForwardingMode
    }

    // MARK: authenticate

    private func authenticate(_ fields: HTTPFields) async -> Result<Authenticated, ProxyRefusal> {
        let credential: BearerCredential
        do {
            guard let found = try BearerCredential.extract(from: fields) else {
                metrics.tokenVerification(result: "no_token")
                return .failure(.unauthorized)
            }
            credential = found
        } catch {
            metrics.tokenVerification(result: "malformed")
            return .failure(.unauthorized)
        }
        do {
            let verified = try await verifier.verify(credential.token)
            metrics.tokenVerification(result: "ok")
            let user = ImpersonatedUser(
                username: verified.user.username, groups: verified.user.groups, extra: verified.user.extra)
            // Impersonated, with `system:authenticated` among its groups once, here: the audit
            // decision and the `Impersonate-Group` headers both read it.
            return .success(
                options.disableImpersonation
                    ? Authenticated(user: user, mode: .userCredentials)
                    : Authenticated(user: user.authenticated, mode: .impersonate))
        } catch {
            metrics.tokenVerification(result: error.reason)
            guard options.tokenPassthrough, let tokenReviewer else {
                logger.debug("token refused", metadata: ["reason": "\(error.reason)", "detail": "\(error)"])
                return .failure(.unauthorized)
            }
            switch await tokenReviewer.review(credential.token) {
            case .authenticated(let user):
                // Forwarded with its own token; audited as the user the API server names it.
                return .success(Authenticated(user: user, mode: .userCredentials))
            case .unauthenticated:
                logger.debug("token refused by OIDC and TokenReview", metadata: ["reason": "\(error.reason)"])
                return .failure(.unauthorized)
            case .failed(let detail):
                if let count = failures.occurred("tokenreview") {
                    logger.warning("TokenReview failed", metadata: ["error": "\(detail)", "requests": "\(count)"])
                }
                return .failure(.unauthorized)
            }
        }
    }

    // MARK: impersonate

    /// The headers to forward: impersonation headers and the proxy's own credential, or the
    /// request's own headers when it goes on with the user's token.
    private func impersonate(_ request: ProxyRequest, fields: HTTPFields, as authenticated: Authenticated) -> Result<
        HTTPHeaders, ProxyRefusal
    > {
        do {
            // The client's hop-by-hop fields go before the proxy adds its own: a `Connection`
            // naming `Impersonate-User` and `Impersonate-Group` stripped them after, and the
            // request went on as the proxy itself. Client impersonation is refused as sent.
            let clientHeaders = HopByHop.stripped(request.head.headers, keepingUpgrade: request.isUpgrade)
            let stripped = clientHeaders.count != request.head.headers.count
            let forwarded = try impersonation.forwardedFields(
                for: stripped ? HTTPFields(clientHeaders) : fields, sent: stripped ? fields : nil,
                user: authenticated.user, clientIP: request.clientIP, mode: authenticated.mode)
            var headers = HTTPHeaders(forwarded)
            headers.remove(name: "host")
            Self.appendForwardedFor(request.clientIP, to: &headers)
            if authenticated.mode == .impersonate, let authorization = upstream.authorization() {
                headers.replaceOrAdd(name: "Authorization", value: authorization)
            }
            return .success(headers)
        } catch {
            return .failure(ProxyRefusal(status: error.status))
        }
    }

    /// As Go's reverse proxy (the jetstack proxy's) forwards a request: the client's address
    /// appended to `X-Forwarded-For` (the values it came with joined first), so the API server's
    /// audit names the user's address among its `sourceIPs`, not only the proxy's.
    static func appendForwardedFor(_ clientIP: String?, to headers: inout HTTPHeaders) {
        guard let clientIP else { return }
        let prior = headers[canonicalForm: "x-forwarded-for"].map(String.init)
        headers.replaceOrAdd(
            name: "X-Forwarded-For", value: prior.isEmpty ? clientIP : prior.joined(separator: ", ") + ", " + clientIP)
    }

    private func tunnel(
        _ request: ProxyRequest, headers: HTTPHeaders, mode: ForwardingMode, writer: ClientResponseWriter,
        audit: inout ExchangeAuditContext
    ) async -> Int {
        do {
            switch try await UpgradeTunnel(upstream: upstream, mode: mode, logger: logger).run(
                request, headers: headers, writer: writer,
                // As the API server's hijacked writer: `ResponseStarted` only for what it counts as
                // long-running (exec, attach, port-forward, proxy), not a WebSocket to another
                // subresource (a VM's console, say), which gets its events when it ends.
                started: { code in if audit.isLongRunning { audit.responseStarted(code: code) } })
            {
            case .tunnelled:
                return 101
            case .answered(let head, let body):
                var responseHeaders = HopByHop.stripped(head.headers)
                responseHeaders.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
                audit.record(answer: head, body: body)
                try await writer.write(
                    .head(
                        HTTPResponseHead(version: request.head.version, status: head.status, headers: responseHeaders)),
                    flush: false)
                try await writer.write(.body(.byteBuffer(body)), flush: false)
                try await writer.write(.end(nil))
                return Int(head.status.code)
            }
        } catch {
            if Task.isCancelled { return clientLeftBeforeTheAnswer(error, audit: &audit) }
            let refusal = upstreamFailure(error)
            await respond(refusal, to: request, writer: writer, audit: &audit)
            return refusal.code
        }
    }

    /// The exchange's task was cancelled while it waited for the API server: the client left
    /// (closed its connection, reset its HTTP/2 stream) before the answer came, which cut the
    /// upstream request short. Not the API server's failure: nothing is logged above debug nor
    /// counted as an upstream error (it used to be an error line "API server unreachable" and a
    /// 502 saying so). Recorded as Go's reverse proxy ends such a request, a 502 with no
    /// `Status`: nobody is left to answer.
    private func clientLeftBeforeTheAnswer(_ error: any Error, audit: inout ExchangeAuditContext) -> Int {
        logger.debug("client went away before the API server answered", metadata: ["error": "\(error)"])
        audit.record(code: 502)
        return 502
    }

    // MARK: forward

    private func forward(
        _ request: ProxyRequest, headers: HTTPHeaders, mode: ForwardingMode, writer: ClientResponseWriter,
        audit: inout ExchangeAuditContext
    ) async -> Int {
        var headers = headers
        let declaredLength = headers.first(name: "content-length")
        let length = declaredLength.flatMap(Int64.init)
        // HTTP/1.1's decoder refuses any other; HTTP/2's length check takes `5, 5`, which would go
        // up as it came.
        if declaredLength != nil, (length ?? -1) < 0 {
            return await refuse(Self.invalidLength, request, writer: writer, audit: &audit)
        }
        let body: BodyPipe?
        if let length {
            body = length == 0 ? nil : request.body
        } else if request.isHTTP2 || request.head.headers.contains(name: "transfer-encoding") {
            // Framing is hop-by-hop: a body of unknown length goes up chunked.
            body = await request.body.isEmpty() ? nil : request.body
            if body != nil { headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked") }
        } else {
            body = nil
        }
        // A TRACE carries no content (RFC 9110 §9.3.8), and a CONNECT's is not parsed: NIO's
        // encoder frames both as bodiless, so a body would follow the head unframed, and the API
        // server would read it as the start of another request, on a connection the next users'
        // requests (with the proxy's token) follow, and complete.
        if body != nil, request.head.method == .TRACE || request.head.method == .CONNECT {
            return await refuse(Self.contentNotAllowed(request.head.method), request, writer: writer, audit: &audit)
        }
        if let body { audit.captureRequestBody(body) }
        // A client that asked to be told to go on (`Expect: 100-continue`, curl's uploads over
        // 1 MB) is told now, as Go's server tells it when the handler reads the body; it used
        // to wait a second for nothing on every such upload. The API server is not asked: the
        // body follows its head at once.
        if body != nil, !request.isHTTP2, headers.first(name: "expect")?.lowercased() == "100-continue" {
            headers.remove(name: "expect")
            try? await writer.write(.head(HTTPResponseHead(version: request.head.version, status: .continue)))
        }
        let head = HTTPRequestHead(
            version: .http1_1, method: request.head.method, uri: request.head.uri, headers: headers)
        let longRunning = LongRunningRequest.matches(request.head.uri)
        let deadline = options.requestTimeout.map { NIODeadline.now() + .nanoseconds(Int64($0 / .nanoseconds(1))) }
        let response: UpstreamResponse
        do {
            response = try await upstream.pool(for: mode).send(
                head, body: body, longRunning: longRunning, on: writer.eventLoop, deadline: deadline)
        } catch {
            request.body.cancel()
            if Task.isCancelled { return clientLeftBeforeTheAnswer(error, audit: &audit) }
            let refusal = upstreamFailure(error)
            await respond(refusal, to: request, writer: writer, audit: &audit)
            return refusal.code
        }

        // A body of known length follows the head at once and is flushed in large pieces (the
        // flush is where a slow client pushes back); anything else (a watch, logs -f) may wait
        // long between chunks, so its head and every chunk go out at once.
        let streaming = !response.head.headers.contains(name: "content-length")
        let responseHeaders = HopByHop.stripped(response.head.headers)
        let code = Int(response.head.status.code)
        audit.captureResponseBody(response.head, isLongRunning: longRunning)
        // The exchange is recorded just before the client can see its response complete.
        var completion = ResponseCompletion(method: request.head.method, response: response.head)
        do {
            try await withTaskCancellationHandler {
                if completion.isComplete { audit.record(code: code) }
                try await writer.writeToClient(
                    .head(
                        HTTPResponseHead(
                            version: request.head.version, status: response.head.status, headers: responseHeaders)),
                    flush: streaming)
                if audit.isLongRunning { audit.responseStarted(code: code) }
                var unflushed = 0
                for try await chunk in response.body {
                    audit.relayed(chunk)
                    if completion.relayed(chunk.readableBytes) { audit.record(code: code) }
                    unflushed += chunk.readableBytes
                    let flush = streaming || unflushed >= 64 * 1024
                    if flush { unflushed = 0 }
                    try await writer.writeToClient(.body(.byteBuffer(chunk)), flush: flush)
                }
                audit.record(code: code)
                try await writer.writeToClient(.end(nil))
            } onCancel: {
                // The client went away: a watch must not stay open upstream.
                response.abandon()
            }
        } catch {
            // The head is out: all that can be done is to cut the response short. A client that
            // left ends the exchange as usual; a failure on the way from the API server is a Panic.
            response.body.cancel()
            response.abandon()
            let clientLeft = Task.isCancelled || error is ClientGone
            if !clientLeft { metrics.upstreamError("stream") }
            audit.record(code: code, cutShort: clientLeft ? nil : Self.cutShortMessage(error))
            logger.debug("response stream ended early", metadata: ["error": "\(error)"])
            try? await writer.closeConnection()
        }
        return code
    }

    /// The `Panic` event's message: why the response stopped, in words without a header or token.
    static func cutShortMessage(_ error: any Error) -> String {
        let why =
            switch error {
            case UpstreamExchangeError.closedBeforeResponse:
                "the API server closed the connection before the response was complete"
            case UpstreamExchangeError.timedOut: "the API server did not finish the response within --request-timeout"
            default: "reading the API server's response failed: \(error)"
            }
        return "the response was cut short after it started: " + why
    }

    private func upstreamFailure(_ error: any Error) -> ProxyRefusal {
        if case UpstreamExchangeError.timedOut = error {
            metrics.upstreamError("timeout")
            return ProxyRefusal(
                code: 504, reason: "Timeout", message: "the API server did not answer within --request-timeout")
        }
        if error is NIOSSLError || error is BoringSSLError || "\(error)".contains("certificate") {
            metrics.upstreamError("tls")
            if let count = failures.occurred("tls") {
                logger.error("API server TLS not trusted", metadata: ["error": "\(error)", "requests": "\(count)"])
            }
            return ProxyRefusal(
                code: 502, reason: "BadGateway",
                message: "the API server's TLS certificate is not trusted: \(error)")
        }
        metrics.upstreamError("unreachable")
        if let count = failures.occurred("unreachable") {
            logger.error("API server unreachable", metadata: ["error": "\(error)", "requests": "\(count)"])
        }
        return ProxyRefusal(code: 502, reason: "BadGateway", message: "the API server is unreachable: \(error)")
    }

    /// Refuses a request whose body cannot be forwarded safely; its unread body closes the
    /// client's connection when the exchange ends.
    private func refuse(
        _ refusal: ProxyRefusal, _ request: ProxyRequest, writer: ClientResponseWriter,
        audit: inout ExchangeAuditContext
    ) async -> Int {
        request.body.cancel()
        return await respond(refusal, to: request, writer: writer, audit: &audit)
    }

    static let invalidLength = ProxyRefusal(
        code: 400, reason: "BadRequest", message: "the request's Content-Length is not one length")

    static func contentNotAllowed(_ method: HTTPMethod) -> ProxyRefusal {
        ProxyRefusal(code: 400, reason: "BadRequest", message: "a \(method.rawValue) request cannot carry a body")
    }

    @discardableResult
    private func respond(
        _ refusal: ProxyRefusal, to request: ProxyRequest, writer: ClientResponseWriter,
        audit: inout ExchangeAuditContext
    ) async -> Int {
        // Recorded before anything goes out: the client sees the whole answer as soon as it does.
        audit.record(refusal)
        let body = ByteBuffer(string: refusal.jsonBody)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Cache-Control", value: "no-cache, private")
        do {
            try await writer.write(
                .head(
                    HTTPResponseHead(
                        version: request.head.version, status: .init(statusCode: refusal.code), headers: headers)),
                flush: false)
            // A HEAD is answered with the head alone, its Content-Length the body's: bytes after
            // it would be read as the start of the next response on the connection (and over
            // HTTP/2 they reset the stream).
            if request.head.method != .HEAD { try await writer.write(.body(.byteBuffer(body)), flush: false) }
            try await writer.write(.end(nil))
        } catch {
            logger.debug("client went away before the error response", metadata: ["error": "\(error)"])
        }
        return refusal.code
    }
}

/// A write to the client failed: the client left, which ends an exchange normally.
struct ClientGone: Error {
    let underlying: any Error
}

extension ClientResponseWriter {
    /// `write`, its failures told apart from the API server's as ``ClientGone``.
    func writeToClient(_ part: consuming HTTPServerResponsePart, flush: Bool = true) async throws {
        do {
            try await write(part, flush: flush)
        } catch {
            throw ClientGone(underlying: error)
        }
    }
}

/// An answer the proxy gives itself, as a Kubernetes `Status`.
struct ProxyRefusal: Error, Sendable {
    let code: Int
    let reason: String
    let message: String

    init(code: Int, reason: String, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    init(status: KubernetesStatus) {
        self.init(code: status.code, reason: status.reason.rawValue, message: status.message)
    }

    static let unauthorized = ProxyRefusal(code: 401, reason: "Unauthorized", message: "Unauthorized")

    var jsonBody: String { KubernetesStatus.jsonBody(code: code, reason: reason, message: message) }
}

extension HTTPFields {
    init(_ headers: HTTPHeaders) {
        self.init()
        reserveCapacity(headers.count)
        for (name, value) in headers {
            if let fieldName = HTTPField.Name(name) { append(HTTPField(name: fieldName, value: value)) }
        }
    }
}

extension HTTPHeaders {
    init(_ fields: HTTPFields) {
        self.init()
        reserveCapacity(fields.count)
        for field in fields { add(name: field.name.rawName, value: field.value) }
    }
}
