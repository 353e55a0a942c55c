import NIOCore
import Synchronization
import Testing

@testable import ProxyServer

/// The request-body bridge: order, end, failure, and back-pressure on the producer.
@Suite struct BodyPipeTests {
    final class Resumes: Sendable {
        let count = Mutex(0)
    }

    @Test func chunksArriveInOrderThenTheEnd() async throws {
        let pipe = BodyPipe(highWatermark: 1024) {}
        #expect(pipe.push(ByteBuffer(string: "a")))
        #expect(pipe.push(ByteBuffer(string: "b")))
        pipe.finish()
        var received: [String] = []
        for try await chunk in pipe { received.append(String(buffer: chunk)) }
        #expect(received == ["a", "b"])
    }

    @Test func producerIsToldToPauseAtTheHighWatermarkAndResumedWhenDrained() async throws {
        let resumes = Resumes()
        let pipe = BodyPipe(highWatermark: 10) { resumes.count.withLock { $0 += 1 } }
        #expect(pipe.push(ByteBuffer(string: "12345")))
        #expect(!pipe.push(ByteBuffer(string: "67890")))
        #expect(resumes.count.withLock { $0 } == 0)
        _ = try await pipe.next()
        _ = try await pipe.next()
        #expect(resumes.count.withLock { $0 } == 1)
    }

    @Test func aWaitingConsumerGetsTheNextPush() async throws {
        let pipe = BodyPipe {}
        async let next = pipe.next()
        try await Task.sleep(for: .milliseconds(20))
        _ = pipe.push(ByteBuffer(string: "late"))
        #expect(try await next.map { String(buffer: $0) } == "late")
    }

    @Test func failureReachesTheConsumer() async {
        let pipe = BodyPipe {}
        pipe.fail(ChannelError.ioOnClosedChannel)
        await #expect(throws: ChannelError.self) { try await pipe.next() }
    }

    @Test func emptinessIsKnownOnceTheFirstEventArrives() async {
        let empty = BodyPipe {}
        empty.finish()
        #expect(await empty.isEmpty())
        let full = BodyPipe {}
        _ = full.push(ByteBuffer(string: "x"))
        #expect(await !full.isEmpty())
        let late = BodyPipe {}
        async let answer = late.isEmpty()
        try? await Task.sleep(for: .milliseconds(20))
        late.finish()
        #expect(await answer)
    }

    @Test func cancelledPipeDropsWhatItHolds() async {
        let pipe = BodyPipe {}
        _ = pipe.push(ByteBuffer(string: "x"))
        pipe.cancel()
        await #expect(throws: BodyPipe.Cancelled.self) { try await pipe.next() }
        #expect(pipe.push(ByteBuffer(string: "more")))
    }
}
