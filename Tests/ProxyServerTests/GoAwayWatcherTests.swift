import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing

@testable import ProxyServer

/// The upstream HTTP/2 connection learns of the API server's GOAWAY, so new streams go to a new
/// connection rather than fail (or hang) on one that is going away.
@Suite struct GoAwayWatcherTests {
    final class Flag: @unchecked Sendable {  // Set and read on the embedded loop only.
        var raised = false
    }

    @Test func aGoAwayIsReportedAndEveryFramePassesOn() throws {
        let flag = Flag()
        let channel = EmbeddedChannel(handler: GoAwayWatcher { flag.raised = true })
        let ping = HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 7), ack: false))
        try channel.writeInbound(ping)
        #expect(!flag.raised)
        let goAway = HTTP2Frame(
            streamID: .rootStream, payload: .goAway(lastStreamID: 5, errorCode: .noError, opaqueData: nil))
        try channel.writeInbound(goAway)
        #expect(flag.raised)
        let passed = try [channel.readInbound(as: HTTP2Frame.self), channel.readInbound(as: HTTP2Frame.self)]
        #expect(passed.count == 2)
        if case .goAway(let last, _, _)? = passed.last??.payload {
            #expect(last == 5)
        } else {
            Issue.record("no GOAWAY passed on")
        }
        _ = try channel.finish()
    }
}
