import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// An HTTPS client for tests that trusts one CA file and can be held to HTTP/1.1.
public final class TestClient: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private let http: HTTPClient

    public init(caFile: String, http1Only: Bool = false) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = http1Only ? .http1Only : .automatic
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func request(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Response(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Array(bytes.readableBytesView))
    }

    /// A response whose body is read chunk by chunk as it arrives.
    public struct StreamingResponse: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        let chunks: AsyncThrowingStream<[UInt8], any Error>

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        /// The next chunk, nil at the end of the body.
        public func next() async throws -> [UInt8]? {
            var iterator = chunks.makeAsyncIterator()
            return try await iterator.next()
        }
    }

    public func open(_ url: String, headers: [(String, String)] = []) async throws -> StreamingResponse {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(60))
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        let body = response.body
        Task {
            do {
                for try await buffer in body { continuation.yield(Array(buffer.readableBytesView)) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return StreamingResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, chunks: stream)
    }

    public func shutdown() async throws { try await http.shutdown() }
}
