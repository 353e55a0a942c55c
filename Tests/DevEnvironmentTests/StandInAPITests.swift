import DevEnvironment
import Foundation
import OIDCVerifier
import Testing

/// The stand-in API server answers as the real one would for what `dev` lets kubectl do.
@Suite struct StandInAPITests {
    static let startedAt = Date(timeIntervalSince1970: 1_750_000_000)
    let api = StandInAPI(proxyToken: "proxy-token", startedAt: startedAt)

    func request(
        _ uri: String, method: String = "GET", headers: [(name: String, value: String)] = [],
        authorized: Bool = true
    ) -> LoopbackRequest {
        LoopbackRequest(
            method: method, uri: uri,
            headers: (authorized ? [(name: "Authorization", value: "Bearer proxy-token")] : []) + headers,
            serverURL: "https://127.0.0.1:6443")
    }

    func json(_ response: LoopbackResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    func respond(_ request: LoopbackRequest) -> LoopbackResponse {
        api.respond(to: request, now: Self.startedAt.addingTimeInterval(300))
    }

    @Test func onlyTheProxysTokenIsTrusted() throws {
        for headers in [[], [(name: "Authorization", value: "Bearer someone-else")]] {
            let response = respond(request("/api", headers: headers, authorized: false))
            #expect(response.status == 401)
            #expect(try json(response)["reason"] as? String == "Unauthorized")
        }
    }

    @Test func selfSubjectReviewShowsTheImpersonatedUser() throws {
        let response = respond(
            request(
                "/apis/authentication.k8s.io/v1/selfsubjectreviews", method: "POST",
                headers: [
                    ("Impersonate-User", "banyan:dev@example.com"), ("Impersonate-Group", "banyan:admin"),
                    ("Impersonate-Group", "banyan:dev"), ("Impersonate-Group", "system:authenticated"),
                    ("Impersonate-Extra-Remote-Client-Ip", "127.0.0.1"), ("Impersonate-Extra-region%2Fzone", "eu"),
                ]))
        #expect(response.status == 201)
        let review = try json(response)
        #expect(review["kind"] as? String == "SelfSubjectReview")
        #expect(review["apiVersion"] as? String == "authentication.k8s.io/v1")
        let userInfo = try #require((review["status"] as? [String: Any])?["userInfo"] as? [String: Any])
        #expect(userInfo["username"] as? String == "banyan:dev@example.com")
        #expect(userInfo["groups"] as? [String] == ["banyan:admin", "banyan:dev", "system:authenticated"])
        let extra = try #require(userInfo["extra"] as? [String: [String]])
        #expect(extra == ["remote-client-ip": ["127.0.0.1"], "region/zone": ["eu"]])
    }

    @Test func theAPIServerAddsSystemAuthenticatedLikeTheRealOne() throws {
        let review = try json(
            respond(
                request(
                    "/apis/authentication.k8s.io/v1/selfsubjectreviews", method: "POST",
                    headers: [("Impersonate-User", "alice")])))
        let userInfo = try #require((review["status"] as? [String: Any])?["userInfo"] as? [String: Any])
        #expect(userInfo["groups"] as? [String] == ["system:authenticated"])
        #expect(userInfo["extra"] == nil)
    }

    @Test func withoutImpersonationTheProxysOwnIdentityIsShown() throws {
        let review = try json(respond(request("/apis/authentication.k8s.io/v1/selfsubjectreviews", method: "POST")))
        let userInfo = try #require((review["status"] as? [String: Any])?["userInfo"] as? [String: Any])
        #expect(userInfo["username"] as? String == StandInAPI.proxyServiceAccount)
    }

    @Test func podsInDefaultAreAValidPodList() throws {
        let response = respond(request("/api/v1/namespaces/default/pods?limit=500"))
        #expect(response.status == 200)
        #expect(response.contentType == "application/json")
        let list = try json(response)
        #expect(list["kind"] as? String == "PodList")
        #expect(list["apiVersion"] as? String == "v1")
        #expect((list["metadata"] as? [String: Any])?["resourceVersion"] as? String == "1")
        let items = try #require(list["items"] as? [[String: Any]])
        #expect(items.count == 2)
        let first = try #require(items.first)
        #expect(first["kind"] as? String == "Pod")
        let metadata = try #require(first["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "hello-web-0")
        #expect(metadata["namespace"] as? String == "default")
        #expect(metadata["creationTimestamp"] as? String == "2025-06-15T15:06:40Z")
        #expect((first["status"] as? [String: Any])?["phase"] as? String == "Running")
    }

    @Test func kubectlsTableRequestGetsATable() throws {
        let accept =
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        let table = try json(respond(request("/api/v1/namespaces/default/pods", headers: [("Accept", accept)])))
        #expect(table["kind"] as? String == "Table")
        #expect(table["apiVersion"] as? String == "meta.k8s.io/v1")
        let columns = try #require(table["columnDefinitions"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(columns.prefix(5) == ["Name", "Ready", "Status", "Restarts", "Age"])
        let rows = try #require(table["rows"] as? [[String: Any]])
        #expect(rows.map { ($0["cells"] as? [Any])?.first as? String } == ["hello-web-0", "hello-worker-0"])
        #expect((rows.first?["cells"] as? [Any])?[4] as? String == "5m")
    }

    @Test func otherNamespacesHaveNoPodsAndUnknownOnesAre404() throws {
        let empty = try json(respond(request("/api/v1/namespaces/kube-system/pods")))
        #expect((empty["items"] as? [Any])?.isEmpty == true)
        let missing = respond(request("/api/v1/namespaces/nope/pods"))
        #expect(missing.status == 404)
        #expect(try json(missing)["message"] as? String == "namespaces \"nope\" not found")
    }

    @Test func namespacesAndSinglePodsAreServed() throws {
        let namespaces = try json(respond(request("/api/v1/namespaces")))
        #expect(namespaces["kind"] as? String == "NamespaceList")
        let pod = try json(respond(request("/api/v1/namespaces/default/pods/hello-worker-0")))
        #expect((pod["metadata"] as? [String: Any])?["name"] as? String == "hello-worker-0")
        #expect(respond(request("/api/v1/namespaces/default/pods/nope")).status == 404)
    }

    @Test func discoveryListsWhatKubectlNeeds() throws {
        let versions = try json(respond(request("/api?timeout=32s")))
        #expect(versions["kind"] as? String == "APIVersions")
        #expect(versions["versions"] as? [String] == ["v1"])
        let groups = try json(respond(request("/apis?timeout=32s")))
        #expect(groups["kind"] as? String == "APIGroupList")
        let core = try json(respond(request("/api/v1")))
        let names = (core["resources"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["namespaces", "pods"])
        let authentication = try json(respond(request("/apis/authentication.k8s.io/v1")))
        #expect(authentication["groupVersion"] as? String == "authentication.k8s.io/v1")
        let version = try json(respond(request("/version")))
        #expect(version["gitVersion"] as? String == "v1.32.0-kube-oidc-proxy-dev")
    }

    @Test func anythingElseIsA404StatusAndWritesAreRefused() throws {
        let missing = respond(request("/apis/apps/v1/deployments"))
        #expect(missing.status == 404)
        let status = try json(missing)
        #expect(status["kind"] as? String == "Status")
        #expect(status["apiVersion"] as? String == "v1")
        #expect(status["status"] as? String == "Failure")
        #expect(status["reason"] as? String == "NotFound")
        #expect(status["code"] as? Int == 404)
        #expect(respond(request("/api/v1/namespaces/default/pods/hello-web-0", method: "DELETE")).status == 405)
        #expect(respond(request("/api/v1/namespaces/default/pods", method: "POST")).status == 405)
    }
}
