import NIOCore
import Synchronization

/// Carries a body from the connection that reads it to the task that forwards it, with
/// back-pressure: the reading connection stops while the pipe holds `highWatermark` bytes, so
/// a 200 MB upload or download never sits in memory. Request bodies flow client → upstream,
/// response bodies upstream → client.
final class BodyPipe: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    private struct State {
        var chunks: [ByteBuffer] = []
        var head = 0
        var bufferedBytes = 0
        var finished = false
        var failure: (any Error)?
        var cancelled = false
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        var producerPaused = false
        var sawData = false
        var firstEventWaiter: CheckedContinuation<Void, Never>?
        /// A copy for the audit event, taken as chunks arrive (nil: not audited at that level).
        var capture: AuditBodyCapture?
    }

    struct Cancelled: Error {}

    let highWatermark: Int
    private let state = Mutex(State())
    /// Called (from the consumer's task) when a paused producer may read again.
    private let resumeProducer: @Sendable () -> Void

    init(highWatermark: Int = 256 * 1024, resumeProducer: @escaping @Sendable () -> Void) {
        self.highWatermark = highWatermark
        self.resumeProducer = resumeProducer
    }

    // MARK: producer (the connection)

    /// Adds a chunk; returns false when the producer should stop reading until resumed.
    func push(_ buffer: ByteBuffer) -> Bool {
        let (waiter, firstWaiter, keepReading):
            (CheckedContinuation<ByteBuffer?, any Error>?, CheckedContinuation<Void, Never>?, Bool) =
                state.withLock { state in
                    if state.cancelled || state.finished { return (nil, nil, true) }
                    state.sawData = true
                    state.capture?.append(buffer)
                    let first = state.firstEventWaiter
                    state.firstEventWaiter = nil
                    if let waiter = state.waiter {
                        state.waiter = nil
                        return (waiter, first, true)
                    }
                    state.chunks.append(buffer)
                    state.bufferedBytes += buffer.readableBytes
                    let keep = state.bufferedBytes < highWatermark
                    if !keep { state.producerPaused = true }
                    return (nil, first, keep)
                }
        firstWaiter?.resume()
        waiter?.resume(returning: buffer)
        return keepReading
    }

    func finish() {
        let (waiter, first) = state.withLock { state in
            state.finished = true
            let waiter = state.chunks.count == state.head ? state.waiter : nil
            if waiter != nil { state.waiter = nil }
            let first = state.firstEventWaiter
            state.firstEventWaiter = nil
            return (waiter, first)
        }
        first?.resume()
        waiter?.resume(returning: nil)
    }

    func fail(_ error: any Error) {
        let (waiter, first) = state.withLock { state in
            state.failure = error
            let waiter = state.waiter
            state.waiter = nil
            let first = state.firstEventWaiter
            state.firstEventWaiter = nil
            return (waiter, first)
        }
        first?.resume()
        waiter?.resume(throwing: error)
    }

    /// Starts copying the body for the audit event, beginning with what is buffered. Call it
    /// before the consumer starts, so that no chunk has left the pipe yet.
    func startCapture(_ capture: AuditBodyCapture) {
        state.withLock { state in
            var capture = capture
            for chunk in state.chunks[state.head...] { capture.append(chunk) }
            state.capture = capture
        }
    }

    /// The copy, once the whole body has passed through (its end read, or every byte its
    /// `Content-Length` declared); nil for a body cut short or not copied.
    func takeCapture() -> AuditBodyCapture? {
        state.withLock { state in
            defer { state.capture = nil }
            guard state.failure == nil, state.finished || state.capture?.hasWholeDeclaredBody == true else {
                return nil
            }
            return state.capture
        }
    }

    /// True once the whole body has been pushed.
    var isFinished: Bool { state.withLock { $0.finished } }

    /// Waits until the body's first chunk or its end is known; true if the body is empty.
    func isEmpty() async -> Bool {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.sawData || state.finished || state.failure != nil || state.cancelled { return true }
                state.firstEventWaiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { !$0.sawData }
    }

    // MARK: consumer (the upstream request)

    func next() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { continuation in
            let (result, resume): (Result<ByteBuffer?, any Error>?, Bool) = state.withLock { state in
                if let failure = state.failure { return (.failure(failure), false) }
                if state.cancelled { return (.failure(Cancelled()), false) }
                if state.head < state.chunks.count {
                    let chunk = state.chunks[state.head]
                    state.head += 1
                    state.bufferedBytes -= chunk.readableBytes
                    if state.head == state.chunks.count {
                        state.chunks.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    var resume = false
                    if state.producerPaused && state.bufferedBytes < highWatermark / 2 {
                        state.producerPaused = false
                        resume = true
                    }
                    return (.success(chunk), resume)
                }
                if state.finished { return (.success(nil), false) }
                state.waiter = continuation
                var resume = false
                if state.producerPaused {
                    state.producerPaused = false
                    resume = true
                }
                return (nil, resume)
            }
            if resume { resumeProducer() }
            if let result { continuation.resume(with: result) }
        }
    }

    /// The consumer is gone (the exchange ended early): drop what is buffered.
    func cancel() {
        let waiter = state.withLock { state in
            state.cancelled = true
            state.chunks.removeAll()
            state.head = 0
            state.bufferedBytes = 0
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(throwing: Cancelled())
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let pipe: BodyPipe
        func next() async throws -> ByteBuffer? { try await pipe.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pipe: self) }
}
