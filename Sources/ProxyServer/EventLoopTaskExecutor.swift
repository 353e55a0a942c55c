import NIOCore

/// Runs a task's jobs on one NIO event loop. An exchange task given its connection's loop as
/// executor preference stays on that thread: the connection, the chain, and the upstream
/// request (async-http-client picks the current loop when asked for any) no longer hop
/// between the event loops and the global concurrent pool at every await. Measured: the
/// hops cost more CPU than the rest of the request.
///
/// Jobs run only from `execute` callbacks, one after another on the loop's thread, so a job
/// never runs concurrently with the connection's handlers. Work done in an exchange therefore
/// blocks the loop: it must stay short (a cached token is, and so is a cold RSA verify).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
