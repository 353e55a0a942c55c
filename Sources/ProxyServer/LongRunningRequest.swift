/// Requests that may stay open for minutes with little traffic: watches (`?watch=true`, or the
/// old `/watch/` paths) and followed logs (`…/log?follow=true`). They go to the API server as
/// HTTP/2 streams where it speaks HTTP/2, so a thousand idle watches share a few connections.
/// (The API server's own long-running check also counts exec, attach and port-forward; those
/// are upgrades here and never reach the pool.)
///
/// Asked for every request, so it reads the target's bytes: splitting it as `Character`s
/// (grapheme breaking) cost about 4.7 µs per request in the running proxy.
enum LongRunningRequest {
    static func matches(_ requestTarget: String) -> Bool {
        var target = requestTarget
        return target.withUTF8 { matches(target: $0) }
    }

    private static func matches(target: UnsafeBufferPointer<UInt8>) -> Bool {
        let question = UInt8(ascii: "?")
        let hash = UInt8(ascii: "#")
        let pathEnd = target.firstIndex { $0 == question || $0 == hash } ?? target.count
        let path = UnsafeBufferPointer(rebasing: target[..<pathEnd])
        // `/api/<version>/watch/…` and `/apis/<group>/<version>/watch/…`; empty segments do not count.
        let segments = path.split(separator: UInt8(ascii: "/"), maxSplits: 4)
        if let first = segments.first {
            let watchIndex = first.elementsEqual("api".utf8) ? 2 : first.elementsEqual("apis".utf8) ? 3 : nil
            if let watchIndex, segments.count > watchIndex, segments[watchIndex].elementsEqual("watch".utf8) {
                return true
            }
        }
        guard pathEnd < target.count, target[pathEnd] == question else { return false }
        let rest = target[(pathEnd + 1)...]
        let query = rest[..<(rest.firstIndex(of: hash) ?? rest.endIndex)]
        let followable = path.count >= 4 && path[(path.count - 4)...].elementsEqual("/log".utf8)
        for pair in query.split(separator: UInt8(ascii: "&")) {
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let key = pair[..<equals]
            let value = equals == pair.endIndex ? pair[equals...] : pair[(equals + 1)...]
            if key.elementsEqual("watch".utf8) && isTrue(value) { return true }
            if followable && key.elementsEqual("follow".utf8) && isTrue(value) { return true }
        }
        return false
    }

    /// Go's `strconv.ParseBool`, true side: what the API server accepts for `watch` and `follow`.
    private static func isTrue(_ value: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        trueSpellings.contains { value.elementsEqual($0) }
    }

    private static let trueSpellings = ["1", "t", "T", "TRUE", "true", "True"].map { Array($0.utf8) }
}
