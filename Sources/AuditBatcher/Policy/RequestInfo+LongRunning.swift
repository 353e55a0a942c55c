extension RequestInfo {
    /// Whether the API server counts the request as long-running, and so audits the moment its
    /// response starts (`ResponseStarted`): verbs `watch` and `proxy`, and the subresources
    /// `attach`, `exec`, `proxy`, `log` and `portforward`, whatever the answer turns out to be.
    public var isLongRunning: Bool {
        switch verb {
        case "watch", "proxy": return true
        default: break
        }
        guard isResourceRequest else { return false }
        switch subresource {
        case "attach", "exec", "proxy", "log", "portforward": return true
        default: return false
        }
    }
}
