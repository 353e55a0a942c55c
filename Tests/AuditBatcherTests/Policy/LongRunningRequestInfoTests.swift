import AuditBatcher
import Testing

@Suite("Long-running requests, as the API server's audit counts them")
struct LongRunningRequestInfoTests {
    @Test(arguments: [
        ("GET", "/api/v1/namespaces/ns/pods?watch=true", true),
        ("GET", "/api/v1/watch/namespaces/ns/pods", true),
        ("GET", "/apis/apps/v1/deployments?watch=1", true),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", true),
        ("GET", "/api/v1/namespaces/ns/pods/p/log?follow=true", true),
        ("POST", "/api/v1/namespaces/ns/pods/p/exec?command=ls", true),
        ("GET", "/api/v1/namespaces/ns/pods/p/attach", true),
        ("POST", "/api/v1/namespaces/ns/pods/p/portforward", true),
        ("GET", "/api/v1/namespaces/ns/services/s/proxy/path", true),
        ("GET", "/api/v1/proxy/namespaces/ns/services/s", true),
        // A named get with watch=true is a get to the API server.
        ("GET", "/api/v1/namespaces/ns/pods/p?watch=true", false),
        ("GET", "/api/v1/namespaces/ns/pods", false),
        ("GET", "/api/v1/namespaces/ns/pods/p/status", false),
        ("GET", "/healthz", false),
        ("GET", "/logs/kube-apiserver.log", false),
        // The profiler's paths, which the API server's check names on their own.
        ("GET", "/debug/pprof/profile?seconds=30", true),
        ("GET", "/debug/pprof/", true),
        ("GET", "/debug/pprof%2Fheap", true),
        ("GET", "/debug/pprof", false),
        ("GET", "/debug/flags/v", false),
    ])
    func classification(method: String, target: String, longRunning: Bool) {
        #expect(RequestInfo(method: method, requestTarget: target).isLongRunning == longRunning)
    }
}
