extension RequestInfo {
    /// Whether the API server counts the request as long-running, and so audits the moment its
    /// response starts (`ResponseStarted`): verbs `watch` and `proxy`, the subresources
    /// `attach`, `exec`, `proxy`, `log` and `portforward`, whatever the answer turns out to be,
    /// and the profiler's non-resource paths under `/debug/pprof/` (a CPU profile runs for its
    /// `seconds`), as the API server's `BasicLongRunningRequestCheck` has it.
    public var isLongRunning: Bool {
        switch verb {
        case "watch", "proxy": return true
        default: break
        }
        guard isResourceRequest else { return path.utf8.starts(with: "/debug/pprof/".utf8) }
        switch subresource {
        case "attach", "exec", "proxy", "log", "portforward": return true
        default: return false
        }
    }
}
