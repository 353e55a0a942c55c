import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// As the Kubernetes components handle signals: the first SIGTERM or SIGINT starts the graceful
/// shutdown (service-lifecycle's), a second one exits at once with status 1, for someone who
/// will not wait out the drain (Ctrl-C pressed twice in `dev`, an operator's second `kill`).
/// Service-lifecycle ignores a signal once it has one: without this, a second did nothing.
struct RepeatedSignal {
    /// Kept while the proxy runs: a released source stops listening.
    private let sources: [any DispatchSourceSignal]

    private final class Count: Sendable {
        private let seen = Mutex(0)

        func received() {
            let total = seen.withLock {
                $0 += 1
                return $0
            }
            guard total >= 2 else { return }
            FileHandle.standardError.write(
                Data("kube-oidc-proxy: second signal, exiting without finishing the shutdown\n".utf8))
            exit(1)
        }
    }

    /// Starts listening for SIGTERM and SIGINT beside service-lifecycle.
    init() {
        let count = Count()
        sources = [SIGTERM, SIGINT].map { number in
            // Ignored first: a source only reports a signal whose default action (ending the
            // process) is off. Service-lifecycle does the same for its own.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { count.received() }
            source.resume()
            return source
        }
    }

    /// Stops listening.
    func cancel() {
        for source in sources { source.cancel() }
    }
}
