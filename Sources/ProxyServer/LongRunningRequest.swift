/// Requests that may stay open for minutes with little traffic: watches (`?watch=true`, or the
/// old `/watch/` paths) and followed logs (`…/log?follow=true`). They go to the API server as
/// HTTP/2 streams where it speaks HTTP/2, so a thousand idle watches share a few connections.
/// (The API server's own long-running check also counts exec, attach and port-forward; those
/// are upgrades here and never reach the pool.)
enum LongRunningRequest {
    static func matches(_ requestTarget: String) -> Bool {
        let target = Substring(requestTarget)
        let path = target.prefix { $0 != "?" && $0 != "#" }
        let query = target.dropFirst(path.count).dropFirst().prefix { $0 != "#" }
        let segments = path.split(separator: "/")
        // `/api/<version>/watch/…` and `/apis/<group>/<version>/watch/…`.
        let watchIndex = segments.first == "api" ? 2 : segments.first == "apis" ? 3 : nil
        if let watchIndex, segments.count > watchIndex, segments[watchIndex] == "watch" { return true }
        if query.isEmpty { return false }
        let followable = path.hasSuffix("/log")
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count == 2 ? parts[1] : ""
            if parts[0] == "watch" && isTrue(value) { return true }
            if followable && parts[0] == "follow" && isTrue(value) { return true }
        }
        return false
    }

    /// Go's `strconv.ParseBool`, true side: what the API server accepts for `watch` and `follow`.
    private static func isTrue(_ value: Substring) -> Bool {
        ["1", "t", "T", "TRUE", "true", "True"].contains(value)
    }
}
