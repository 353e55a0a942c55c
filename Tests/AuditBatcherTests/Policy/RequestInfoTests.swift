import Foundation
import Testing

@testable import AuditBatcher

/// One row: a request line and the request info the Kubernetes API server derives from it.
struct RequestInfoCase: CustomTestStringConvertible, Sendable {
    let method: String
    let target: String
    let expected: RequestInfo

    var testDescription: String { "\(method) \(target)" }
}

private func resource(
    _ path: String, _ verb: String, prefix: String = "api", group: String = "", version: String = "v1",
    namespace: String = "", resource: String, subresource: String = "", name: String = "", parts: [String]
) -> RequestInfo {
    RequestInfo(
        isResourceRequest: true, path: path, verb: verb, apiPrefix: prefix, apiGroup: group, apiVersion: version,
        namespace: namespace, resource: resource, subresource: subresource, name: name, parts: parts)
}

private func nonResource(_ path: String, _ verb: String, prefix: String = "", group: String = "") -> RequestInfo {
    RequestInfo(isResourceRequest: false, path: path, verb: verb, apiPrefix: prefix, apiGroup: group)
}

private let requestInfoCases: [RequestInfoCase] = [
    // Core group, namespaced collections and objects.
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods",
        expected: resource(
            "/api/v1/namespaces/default/pods", "list", namespace: "default", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods/web",
        expected: resource(
            "/api/v1/namespaces/default/pods/web", "get", namespace: "default", resource: "pods", name: "web",
            parts: ["pods", "web"])),
    .init(
        method: "HEAD", target: "/api/v1/namespaces/default/pods/web",
        expected: resource(
            "/api/v1/namespaces/default/pods/web", "get", namespace: "default", resource: "pods", name: "web",
            parts: ["pods", "web"])),
    .init(
        method: "POST", target: "/api/v1/namespaces/default/pods",
        expected: resource(
            "/api/v1/namespaces/default/pods", "create", namespace: "default", resource: "pods", parts: ["pods"])),
    .init(
        method: "PUT", target: "/api/v1/namespaces/default/configmaps/cfg",
        expected: resource(
            "/api/v1/namespaces/default/configmaps/cfg", "update", namespace: "default", resource: "configmaps",
            name: "cfg", parts: ["configmaps", "cfg"])),
    .init(
        method: "PATCH", target: "/api/v1/namespaces/default/configmaps/cfg",
        expected: resource(
            "/api/v1/namespaces/default/configmaps/cfg", "patch", namespace: "default", resource: "configmaps",
            name: "cfg", parts: ["configmaps", "cfg"])),
    .init(
        method: "DELETE", target: "/api/v1/namespaces/default/pods/web",
        expected: resource(
            "/api/v1/namespaces/default/pods/web", "delete", namespace: "default", resource: "pods", name: "web",
            parts: ["pods", "web"])),
    .init(
        method: "DELETE", target: "/api/v1/namespaces/default/pods",
        expected: resource(
            "/api/v1/namespaces/default/pods", "deletecollection", namespace: "default", resource: "pods",
            parts: ["pods"])),
    .init(
        method: "OPTIONS", target: "/api/v1/namespaces/default/pods",
        expected: resource(
            "/api/v1/namespaces/default/pods", "", namespace: "default", resource: "pods", parts: ["pods"])
    ),

    // Cluster-scoped and all-namespace requests.
    .init(
        method: "GET", target: "/api/v1/nodes",
        expected: resource("/api/v1/nodes", "list", resource: "nodes", parts: ["nodes"])),
    .init(
        method: "GET", target: "/api/v1/nodes/n1",
        expected: resource("/api/v1/nodes/n1", "get", resource: "nodes", name: "n1", parts: ["nodes", "n1"])),
    .init(
        method: "GET", target: "/api/v1/pods",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),

    // Named groups.
    .init(
        method: "GET", target: "/apis/apps/v1/namespaces/prod/deployments/web",
        expected: resource(
            "/apis/apps/v1/namespaces/prod/deployments/web", "get", prefix: "apis", group: "apps", namespace: "prod",
            resource: "deployments", name: "web", parts: ["deployments", "web"])),
    .init(
        method: "GET", target: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        expected: resource(
            "/apis/rbac.authorization.k8s.io/v1/clusterroles", "list", prefix: "apis",
            group: "rbac.authorization.k8s.io", resource: "clusterroles", parts: ["clusterroles"])),
    .init(
        method: "DELETE", target: "/apis/batch/v1/namespaces/ci/jobs",
        expected: resource(
            "/apis/batch/v1/namespaces/ci/jobs", "deletecollection", prefix: "apis", group: "batch", namespace: "ci",
            resource: "jobs", parts: ["jobs"])),

    // Subresources.
    .init(
        method: "PUT", target: "/api/v1/namespaces/default/pods/web/status",
        expected: resource(
            "/api/v1/namespaces/default/pods/web/status", "update", namespace: "default", resource: "pods",
            subresource: "status", name: "web", parts: ["pods", "web", "status"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods/web/log?container=app&follow=true",
        expected: resource(
            "/api/v1/namespaces/default/pods/web/log", "get", namespace: "default", resource: "pods",
            subresource: "log", name: "web", parts: ["pods", "web", "log"])),
    .init(
        method: "POST", target: "/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true&tty=true",
        expected: resource(
            "/api/v1/namespaces/default/pods/web/exec", "create", namespace: "default", resource: "pods",
            subresource: "exec", name: "web", parts: ["pods", "web", "exec"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods/web/exec?command=ls",
        expected: resource(
            "/api/v1/namespaces/default/pods/web/exec", "get", namespace: "default", resource: "pods",
            subresource: "exec", name: "web", parts: ["pods", "web", "exec"])),
    .init(
        method: "PATCH", target: "/apis/apps/v1/namespaces/prod/deployments/web/scale",
        expected: resource(
            "/apis/apps/v1/namespaces/prod/deployments/web/scale", "patch", prefix: "apis", group: "apps",
            namespace: "prod", resource: "deployments", subresource: "scale", name: "web",
            parts: ["deployments", "web", "scale"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/default/services/web:8080/proxy/metrics/raw",
        expected: resource(
            "/api/v1/namespaces/default/services/web:8080/proxy/metrics/raw", "get", namespace: "default",
            resource: "services", subresource: "proxy", name: "web:8080",
            parts: ["services", "web:8080", "proxy", "metrics", "raw"])),

    // The old `/proxy/` path verb takes no subresource: the rest of the path is the proxied path.
    .init(
        method: "GET", target: "/api/v1/proxy/namespaces/default/pods/web/healthz",
        expected: resource(
            "/api/v1/proxy/namespaces/default/pods/web/healthz", "proxy", namespace: "default", resource: "pods",
            name: "web", parts: ["pods", "web", "healthz"])),
    .init(
        method: "GET", target: "/api/v1/proxy/nodes/n1/stats",
        expected: resource(
            "/api/v1/proxy/nodes/n1/stats", "proxy", resource: "nodes", name: "n1", parts: ["nodes", "n1", "stats"])),

    // Watches, by query and by the old `/watch/` path verb.
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods?watch=true&resourceVersion=10",
        expected: resource(
            "/api/v1/namespaces/default/pods", "watch", namespace: "default", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/pods?watch=1",
        expected: resource("/api/v1/pods", "watch", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/pods?watch=FALSE",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/pods?watch=0",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/pods?watch",
        expected: resource("/api/v1/pods", "watch", resource: "pods", parts: ["pods"])),
    // Go's query parsing: a pair with a bad escape or a `;` is dropped, names are unescaped.
    .init(
        method: "GET", target: "/api/v1/pods?watch=%zz&watch=false",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/pods?watch;x=1&&w%61tch=true",
        expected: resource("/api/v1/pods", "watch", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/pods?wat%zzch=1&watch+=1&watch=0",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods/web?watch=true",
        expected: resource(
            "/api/v1/namespaces/default/pods/web", "get", namespace: "default", resource: "pods", name: "web",
            parts: ["pods", "web"])),
    .init(
        method: "GET", target: "/api/v1/watch/namespaces/default/pods",
        expected: resource(
            "/api/v1/watch/namespaces/default/pods", "watch", namespace: "default", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/apis/apps/v1/watch/namespaces/prod/deployments/web",
        expected: resource(
            "/apis/apps/v1/watch/namespaces/prod/deployments/web", "watch", prefix: "apis", group: "apps",
            namespace: "prod", resource: "deployments", name: "web", parts: ["deployments", "web"])),

    // A field selector on metadata.name names the object of a list or watch.
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb",
        expected: resource(
            "/api/v1/namespaces/default/pods", "list", namespace: "default", resource: "pods", name: "web",
            parts: ["pods"])),
    .init(
        method: "GET",
        target: "/api/v1/namespaces/default/pods?fieldSelector=metadata.name==web,status.phase!=Failed&watch=true",
        expected: resource(
            "/api/v1/namespaces/default/pods", "watch", namespace: "default", resource: "pods", name: "web",
            parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods?fieldSelector=metadata.name!%3Dweb",
        expected: resource(
            "/api/v1/namespaces/default/pods", "list", namespace: "default", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3Dweb&limit=ten",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),
    // A label selector that does not parse fails the list options too; one that does keeps the name.
    .init(
        method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3Dweb&labelSelector=%21",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET",
        target: "/api/v1/pods?fieldSelector=metadata.name%3Dweb&labelSelector=app%3Dweb,tier+in+(a,b),!old",
        expected: resource("/api/v1/pods", "list", resource: "pods", name: "web", parts: ["pods"])),
    // `watch` compares as Go's EqualFold does, where ſ folds to s.
    .init(
        method: "GET", target: "/api/v1/pods?watch=fal%C5%BFe",
        expected: resource("/api/v1/pods", "list", resource: "pods", parts: ["pods"])),
    .init(
        method: "DELETE", target: "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb",
        expected: resource(
            "/api/v1/namespaces/default/pods", "deletecollection", namespace: "default", resource: "pods",
            parts: ["pods"])),

    // Namespaces themselves: a namespace object's namespace is its name.
    .init(
        method: "GET", target: "/api/v1/namespaces",
        expected: resource("/api/v1/namespaces", "list", resource: "namespaces", parts: ["namespaces"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/team-a",
        expected: resource(
            "/api/v1/namespaces/team-a", "get", namespace: "team-a", resource: "namespaces", name: "team-a",
            parts: ["namespaces", "team-a"])),
    .init(
        method: "DELETE", target: "/api/v1/namespaces/team-a",
        expected: resource(
            "/api/v1/namespaces/team-a", "delete", namespace: "team-a", resource: "namespaces", name: "team-a",
            parts: ["namespaces", "team-a"])),
    .init(
        method: "PUT", target: "/api/v1/namespaces/team-a/finalize",
        expected: resource(
            "/api/v1/namespaces/team-a/finalize", "update", namespace: "team-a", resource: "namespaces",
            subresource: "finalize", name: "team-a", parts: ["namespaces", "team-a", "finalize"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/team-a/status",
        expected: resource(
            "/api/v1/namespaces/team-a/status", "get", namespace: "team-a", resource: "namespaces",
            subresource: "status", name: "team-a", parts: ["namespaces", "team-a", "status"])),

    // Trailing and doubled slashes.
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods/",
        expected: resource(
            "/api/v1/namespaces/default/pods/", "list", namespace: "default", resource: "pods", parts: ["pods"])),
    .init(
        method: "GET", target: "/api/v1/namespaces/default/pods/web/",
        expected: resource(
            "/api/v1/namespaces/default/pods/web/", "get", namespace: "default", resource: "pods", name: "web",
            parts: ["pods", "web"])),

    // Non-resource URLs: the verb is the lowercased method.
    .init(method: "GET", target: "/version", expected: nonResource("/version", "get")),
    .init(method: "GET", target: "/healthz", expected: nonResource("/healthz", "get")),
    .init(method: "GET", target: "/healthz/etcd?verbose", expected: nonResource("/healthz/etcd", "get")),
    .init(method: "GET", target: "/api", expected: nonResource("/api", "get")),
    .init(method: "GET", target: "/api/v1", expected: nonResource("/api/v1", "get")),
    .init(method: "GET", target: "/api/v1/", expected: nonResource("/api/v1/", "get")),
    .init(method: "GET", target: "/apis", expected: nonResource("/apis", "get")),
    .init(method: "GET", target: "/apis/apps", expected: nonResource("/apis/apps", "get")),
    .init(method: "GET", target: "/apis/apps/v1", expected: nonResource("/apis/apps/v1", "get", prefix: "apis")),
    .init(method: "GET", target: "/openapi/v2", expected: nonResource("/openapi/v2", "get")),
    .init(method: "GET", target: "/openapi/v3/apis/apps/v1", expected: nonResource("/openapi/v3/apis/apps/v1", "get")),
    .init(
        method: "POST", target: "/logs/kube-apiserver.log", expected: nonResource("/logs/kube-apiserver.log", "post")),
    .init(method: "GET", target: "/", expected: nonResource("/", "get")),

    // The path is percent-decoded, as Go hands it to the API server.
    .init(
        method: "GET", target: "/api/v1/namespaces/default/configmaps/a%3Ab",
        expected: resource(
            "/api/v1/namespaces/default/configmaps/a:b", "get", namespace: "default", resource: "configmaps",
            name: "a:b", parts: ["configmaps", "a:b"])),
    // An absolute-form target is reduced to its path.
    .init(
        method: "GET", target: "https://kube.example.com:443/api/v1/nodes?watch=true",
        expected: resource("/api/v1/nodes", "watch", resource: "nodes", parts: ["nodes"])),
]

@Suite("Request info derivation")
struct RequestInfoTests {
    @Test(arguments: requestInfoCases)
    func derivesRequestInfoAsKubernetesDoes(_ row: RequestInfoCase) {
        #expect(RequestInfo(method: row.method, requestTarget: row.target) == row.expected)
    }

    @Test func tableCoversAtLeastThirtyFiveRequests() {
        #expect(requestInfoCases.count >= 35)
    }

    @Test func separatePathAndQueryGiveTheSameResultAsATarget() {
        let split = RequestInfo(method: "GET", path: "/api/v1/pods", query: "watch=true")
        #expect(split == RequestInfo(method: "GET", requestTarget: "/api/v1/pods?watch=true"))
        #expect(split.verb == "watch")
    }

    @Test func bareWatchPathKeepsWhatIsKnown() {
        // The API server refuses this path; the proxy still has to audit it.
        let info = RequestInfo(method: "GET", requestTarget: "/api/v1/watch")
        #expect(info.isResourceRequest)
        #expect(info.apiVersion == "v1")
        #expect(info.verb == "get")
        #expect(info.resource.isEmpty)
    }

    @Test func fieldSelectedNameMustBeAPathSegment() {
        let info = RequestInfo(method: "GET", requestTarget: "/api/v1/pods?fieldSelector=metadata.name%3D..")
        #expect(info.name.isEmpty)
    }

    @Test func malformedFieldSelectorLeavesTheNameEmpty() {
        let info = RequestInfo(method: "GET", requestTarget: "/api/v1/pods?fieldSelector=metadata.name")
        #expect(info.verb == "list")
        #expect(info.name.isEmpty)
    }

    @Test func firstWatchValueDecides() {
        #expect(RequestInfo(method: "GET", requestTarget: "/api/v1/pods?watch=false&watch=true").verb == "list")
    }

    @Test func objectReferenceCarriesTheResourceFieldsAndOmitsEmptyOnes() throws {
        let scale = RequestInfo(method: "PUT", requestTarget: "/apis/apps/v1/namespaces/prod/deployments/web/scale")
        #expect(
            scale.objectReference
                == AuditObjectReference(
                    resource: "deployments", namespace: "prod", name: "web", apiGroup: "apps", apiVersion: "v1",
                    subresource: "scale"))

        let nodes = RequestInfo(method: "GET", requestTarget: "/api/v1/nodes")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(nodes.objectReference), as: UTF8.self)
        #expect(json == #"{"apiVersion":"v1","resource":"nodes"}"#)
    }

    @Test func nonResourceRequestsHaveNoObjectReference() {
        #expect(RequestInfo(method: "GET", requestTarget: "/healthz").objectReference == nil)
    }

    @Test func objectReferenceDecodesFromAuditEventJSON() throws {
        let json =
            #"{"resource":"pods","namespace":"d","name":"web","uid":"1","resourceVersion":"7","subresource":"log"}"#
        let reference = try JSONDecoder().decode(AuditObjectReference.self, from: Data(json.utf8))
        #expect(
            reference
                == AuditObjectReference(
                    resource: "pods", namespace: "d", name: "web", uid: "1", resourceVersion: "7", subresource: "log"))
    }
}

@Suite("Field selector names")
struct FieldSelectorTests {
    @Test(arguments: [
        ("metadata.name=web", "web"),
        ("metadata.name==web", "web"),
        ("status.phase=Running,metadata.name=web", "web"),
        ("metadata.name=a\\,b", "a,b"),
        ("metadata.name=b,metadata.name=a", "a"),
    ])
    func exactNameIsFound(_ selector: String, _ name: String) throws {
        #expect(try FieldSelector.requiredValue(of: "metadata.name", in: selector) == name)
    }

    /// The API server splits and unescapes by code point and sorts the terms by their bytes; a combining mark
    /// after `,`, `=` or `\` does not hide them, as Swift's characters would.
    @Test(arguments: [
        ("metadata.name=\u{301}x", "\u{301}x"),
        ("metadata.name=a\\,\u{301}", "a,\u{301}"),
        ("metadata.name=\u{E9},metadata.name=e\u{301}", "e\u{301}"),
        ("metadata.name=e\u{301},metadata.name=\u{E9}", "e\u{301}"),
    ])
    func selectorsAreReadByCodePointAndSortedByBytes(_ selector: String, _ name: String) throws {
        let found = try FieldSelector.requiredValue(of: "metadata.name", in: selector)
        #expect(found.map { Array($0.utf8) } == Array(name.utf8))
    }

    @Test func aCombiningMarkAfterACommaStillSplitsTheTerms() {
        #expect(throws: FieldSelectorError.self) {
            try FieldSelector.requiredValue(of: "metadata.name", in: "metadata.name=a,\u{301}b")
        }
    }

    @Test(arguments: ["metadata.name!=web", "status.phase=Running", ""])
    func selectorsThatDoNotPinTheNameGiveNone(_ selector: String) throws {
        #expect(try FieldSelector.requiredValue(of: "metadata.name", in: selector) == nil)
    }

    @Test(arguments: ["metadata.name", "metadata.name=a=b", "metadata.name=a\\"])
    func malformedSelectorsThrow(_ selector: String) {
        #expect(throws: FieldSelectorError.self) { try FieldSelector.requiredValue(of: "metadata.name", in: selector) }
    }
}
