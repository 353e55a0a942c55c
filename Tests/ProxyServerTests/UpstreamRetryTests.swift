import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

@testable import ProxyServer

#if canImport(Glibc)
    import Glibc
#endif

/// When a request that failed on a reused upstream connection is sent again on a fresh one.
@Suite struct UpstreamRetryTests {
    func retries(
        _ method: HTTPMethod, _ error: any Error, reused: Bool = true, hasBody: Bool = false, attempt: Int = 1,
        headers: [(String, String)] = []
    ) -> Bool {
        UpstreamConnectionPool.retriesOnAFreshConnection(
            error, head: HTTPRequestHead(version: .http1_1, method: method, uri: "/", headers: HTTPHeaders(headers)),
            reused: reused, hasBody: hasBody, attempt: attempt)
    }

    @Test func aReplayableRequestOnAConnectionThatWentIsRetriedOnce() {
        let gone: [any Error] = [
            UpstreamExchangeError.closedBeforeResponse, IOError(errnoCode: ECONNRESET, reason: "read"),
            IOError(errnoCode: EPIPE, reason: "write"), NIOSSLError.uncleanShutdown,
        ]
        for error in gone {
            for method in [HTTPMethod.GET, .HEAD, .OPTIONS, .TRACE] {
                #expect(retries(method, error), "\(method) \(error)")
            }
            #expect(!retries(.GET, error, reused: false), "a fresh connection's failure is the API server's answer")
            #expect(!retries(.GET, error, attempt: 2), "once")
            #expect(!retries(.GET, error, hasBody: true), "a body streamed once cannot be sent again")
        }
    }

    /// Go's transport does not send these twice: they may have run before the connection went.
    @Test func aRequestThatMayHaveRunIsNotSentTwice() {
        for method in [HTTPMethod.POST, .DELETE, .PATCH, .PUT] {
            #expect(!retries(method, UpstreamExchangeError.closedBeforeResponse), "\(method)")
            #expect(retries(method, UpstreamExchangeError.closedBeforeResponse, headers: [("Idempotency-Key", "k")]))
        }
    }

    @Test func otherFailuresAreNotRetried() {
        #expect(!retries(.GET, UpstreamExchangeError.timedOut))
        #expect(!retries(.GET, IOError(errnoCode: ECONNREFUSED, reason: "connect")))
    }
}
