import Testing

@testable import ProxyServer

@Suite struct LongRunningRequestTests {
    @Test(arguments: [
        ("/api/v1/namespaces/default/pods?watch=true", true),
        ("/api/v1/pods?watch=1&resourceVersion=10", true),
        ("/apis/apps/v1/deployments?labelSelector=a%3Db&watch=True", true),
        ("/api/v1/watch/namespaces/default/pods", true),
        ("/apis/apps/v1/watch/deployments", true),
        ("/api/v1/namespaces/default/pods/web-0/log?follow=true", true),
        ("/api/v1/namespaces/default/pods/web-0/log?container=app&follow=t", true),
        ("/api/v1/namespaces/default/pods?watch=false", false),
        ("/api/v1/namespaces/default/pods?watch=", false),
        ("/api/v1/namespaces/default/pods?watch", false),
        ("/api/v1/namespaces/default/pods", false),
        ("/api/v1/namespaces/default/pods/web-0/log", false),
        ("/api/v1/namespaces/default/pods/web-0/log?follow=false", false),
        ("/api/v1/namespaces/default/pods?follow=true", false),
        ("/api/v1/namespaces/default/pods?xwatch=true", false),
        ("/api/v1/namespaces/watch/pods", false),
        ("/apis/watch/v1/things", false),
        ("/version", false),
        ("/healthz/watch", false),
        ("/api/v1/pods?watch=true#frag", true),
        ("//api//v1//watch//pods", true),
        ("/apis/apps/v1/deployments/watch", false),
        ("/api/v1/pods?limit=5&watch&watch=1", true),
        ("/api/v1/pods#?watch=true", false),
        ("/api/v1/namespaces/default/pods/web-0/log?follow=TRUE&watch=f", true),
        ("", false),
        ("?watch=true", true),
    ])
    func classifies(target: String, longRunning: Bool) {
        #expect(LongRunningRequest.matches(target) == longRunning)
    }
}
