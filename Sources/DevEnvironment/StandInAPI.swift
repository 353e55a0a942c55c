import Foundation
import OIDCVerifier

/// The stand-in Kubernetes API server behind the development proxy: enough of the real one for
/// `kubectl get pods`, `kubectl get namespaces` and `kubectl auth whoami`. It trusts only the
/// proxy's bearer token and, like the real API server, acts as whoever the proxy impersonates:
/// a `SelfSubjectReview` answers with the user built from the `Impersonate-*` headers.
/// Pure: a request and the time in, a response out.
public struct StandInAPI: Sendable {
    /// The identity the proxy itself has, shown when a request impersonates no one.
    public static let proxyServiceAccount = "system:serviceaccount:kube-oidc-proxy-ns:kube-oidc-proxy"

    /// The token the proxy presents (`--token`); anything else is 401.
    public let proxyToken: String
    /// When the sample objects were created.
    public let startedAt: Date

    public init(proxyToken: String, startedAt: Date) {
        self.proxyToken = proxyToken
        self.startedAt = startedAt
    }

    struct SamplePod {
        let name: String
        let app: String
        let image: String
        let ip: String
    }

    static let namespaces = ["default", "kube-system"]
    static let pods = [
        SamplePod(name: "hello-web-0", app: "hello-web", image: "nginx:1.27", ip: "10.244.0.11"),
        SamplePod(name: "hello-worker-0", app: "hello-worker", image: "busybox:1.36", ip: "10.244.0.12"),
    ]

    public func respond(to request: LoopbackRequest, now: Date) -> LoopbackResponse {
        guard request.value("Authorization") == "Bearer \(proxyToken)" else {
            return Self.status(401, reason: "Unauthorized", message: "Unauthorized")
        }
        let segments = request.path.split(separator: "/").map(String.init)
        if request.method == "POST" {
            guard request.path == "/apis/authentication.k8s.io/v1/selfsubjectreviews" else {
                return Self.status(
                    405, reason: "MethodNotAllowed",
                    message: "the development API server is read-only (only SelfSubjectReview may be created)")
            }
            return selfSubjectReview(request, now: now)
        }
        guard request.method == "GET" else {
            return Self.status(405, reason: "MethodNotAllowed", message: "the development API server is read-only")
        }
        let table = request.values("Accept").contains { $0.contains("as=Table") }
        switch Route(segments) {
        case .version: return .json(Self.version)
        case .api: return .json(Self.apiVersions(request.serverURL))
        case .apis: return .json(Self.apiGroups)
        case .coreV1: return .json(Self.coreResources)
        case .authenticationV1: return .json(Self.authenticationResources)
        case .namespaces:
            return .json(table ? namespaceTable(now: now) : namespaceList)
        case .namespace(let name):
            guard Self.namespaces.contains(name) else { return Self.notFound("namespaces", name) }
            return .json(namespace(name))
        case .allPods:
            return .json(table ? podTable(now: now) : podList)
        case .pods(let namespace):
            guard Self.namespaces.contains(namespace) else { return Self.notFound("namespaces", namespace) }
            let pods = namespace == "default" ? Self.pods : []
            return .json(table ? podTable(pods, now: now) : podList(pods))
        case .pod(let namespace, let name):
            guard namespace == "default", let found = Self.pods.first(where: { $0.name == name }) else {
                return Self.notFound("pods", name)
            }
            return .json(table ? podTable([found], now: now) : pod(found))
        case .unknown:
            return Self.status(404, reason: "NotFound", message: "the server could not find the requested resource")
        }
    }

    /// The read-only paths served, from the path's segments.
    enum Route: Equatable {
        case version, api, apis, coreV1, authenticationV1, namespaces, allPods, unknown
        case namespace(String)
        case pods(namespace: String)
        case pod(namespace: String, name: String)

        init(_ segments: [String]) {
            let core = segments.count >= 2 && segments[0] == "api" && segments[1] == "v1"
            let namespaced = core && segments.count >= 4 && segments[2] == "namespaces"
            switch segments.count {
            case 1 where segments[0] == "version": self = .version
            case 1 where segments[0] == "api": self = .api
            case 1 where segments[0] == "apis": self = .apis
            case 2 where core: self = .coreV1
            case 3 where segments == ["apis", "authentication.k8s.io", "v1"]: self = .authenticationV1
            case 3 where core && segments[2] == "namespaces": self = .namespaces
            case 3 where core && segments[2] == "pods": self = .allPods
            case 4 where namespaced: self = .namespace(segments[3])
            case 5 where namespaced && segments[4] == "pods": self = .pods(namespace: segments[3])
            case 6 where namespaced && segments[4] == "pods": self = .pod(namespace: segments[3], name: segments[5])
            default: self = .unknown
            }
        }
    }

    // MARK: SelfSubjectReview

    /// The user as the API server's impersonation filter builds it from the proxy's headers:
    /// extra keys are lower-cased and percent-decoded, `system:authenticated` is added.
    static func impersonatedUser(_ request: LoopbackRequest) -> JSONValue {
        guard let username = request.value("Impersonate-User") else {
            return .object([
                "username": .string(proxyServiceAccount),
                "groups": .array(
                    ["system:serviceaccounts", "system:serviceaccounts:kube-oidc-proxy-ns", "system:authenticated"]
                        .map { .string($0) }),
            ])
        }
        var groups = request.values("Impersonate-Group")
        if !groups.contains("system:authenticated") { groups.append("system:authenticated") }
        var extra: [String: [String]] = [:]
        let prefix = "impersonate-extra-"
        for (name, value) in request.headers where name.lowercased().hasPrefix(prefix) {
            let key = String(name.lowercased().dropFirst(prefix.count))
            extra[key.removingPercentEncoding ?? key, default: []].append(value)
        }
        var user: [String: JSONValue] = [
            "username": .string(username), "groups": .array(groups.map { .string($0) }),
        ]
        if !extra.isEmpty {
            user["extra"] = .object(extra.mapValues { .array($0.map { .string($0) }) })
        }
        return .object(user)
    }

    private func selfSubjectReview(_ request: LoopbackRequest, now: Date) -> LoopbackResponse {
        .json(
            .object([
                "kind": .string("SelfSubjectReview"), "apiVersion": .string("authentication.k8s.io/v1"),
                "metadata": .object(["creationTimestamp": .string(Self.timestamp(now))]),
                "status": .object(["userInfo": Self.impersonatedUser(request)]),
            ]), status: 201)
    }

    // MARK: Discovery

    static let version: JSONValue = .object([
        "major": .string("1"), "minor": .string("32"), "gitVersion": .string("v1.32.0-kube-oidc-proxy-dev"),
        "gitCommit": .string("0000000000000000000000000000000000000000"), "gitTreeState": .string("clean"),
        "buildDate": .string("2025-01-01T00:00:00Z"), "goVersion": .string("go1.23"), "compiler": .string("gc"),
        "platform": .string("linux/amd64"),
    ])

    static func apiVersions(_ serverURL: String) -> JSONValue {
        .object([
            "kind": .string("APIVersions"), "versions": .array([.string("v1")]),
            "serverAddressByClientCIDRs": .array([
                .object([
                    "clientCIDR": .string("0.0.0.0/0"),
                    "serverAddress": .string(String(serverURL.dropFirst("https://".count))),
                ])
            ]),
        ])
    }

    static let apiGroups: JSONValue = .object([
        "kind": .string("APIGroupList"), "apiVersion": .string("v1"),
        "groups": .array([
            .object([
                "name": .string("authentication.k8s.io"),
                "versions": .array([
                    .object(["groupVersion": .string("authentication.k8s.io/v1"), "version": .string("v1")])
                ]),
                "preferredVersion": .object([
                    "groupVersion": .string("authentication.k8s.io/v1"), "version": .string("v1"),
                ]),
            ])
        ]),
    ])

    static func resource(
        _ name: String, singular: String, kind: String, namespaced: Bool, verbs: [String], shortNames: [String] = [],
        categories: [String] = []
    ) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(name), "singularName": .string(singular), "namespaced": .bool(namespaced),
            "kind": .string(kind), "verbs": .array(verbs.map { .string($0) }),
        ]
        if !shortNames.isEmpty { fields["shortNames"] = .array(shortNames.map { .string($0) }) }
        if !categories.isEmpty { fields["categories"] = .array(categories.map { .string($0) }) }
        return .object(fields)
    }

    static let coreResources: JSONValue = .object([
        "kind": .string("APIResourceList"), "groupVersion": .string("v1"),
        "resources": .array([
            resource(
                "namespaces", singular: "namespace", kind: "Namespace", namespaced: false, verbs: ["get", "list"],
                shortNames: ["ns"]),
            resource(
                "pods", singular: "pod", kind: "Pod", namespaced: true, verbs: ["get", "list"], shortNames: ["po"],
                categories: ["all"]),
        ]),
    ])

    static let authenticationResources: JSONValue = .object([
        "kind": .string("APIResourceList"), "apiVersion": .string("v1"),
        "groupVersion": .string("authentication.k8s.io/v1"),
        "resources": .array([
            resource(
                "selfsubjectreviews", singular: "selfsubjectreview", kind: "SelfSubjectReview", namespaced: false,
                verbs: ["create"])
        ]),
    ])

    // MARK: Objects

    private var creationTimestamp: JSONValue { .string(Self.timestamp(startedAt)) }

    private func namespace(_ name: String) -> JSONValue {
        .object([
            "kind": .string("Namespace"), "apiVersion": .string("v1"),
            "metadata": .object([
                "name": .string(name), "uid": .string(Self.uid("namespace/\(name)")),
                "resourceVersion": .string("1"), "creationTimestamp": creationTimestamp,
                "labels": .object(["kubernetes.io/metadata.name": .string(name)]),
            ]),
            "spec": .object(["finalizers": .array([.string("kubernetes")])]),
            "status": .object(["phase": .string("Active")]),
        ])
    }

    private var namespaceList: JSONValue {
        .object([
            "kind": .string("NamespaceList"), "apiVersion": .string("v1"),
            "metadata": .object(["resourceVersion": .string("1")]),
            "items": .array(Self.namespaces.map { namespace($0) }),
        ])
    }

    private func pod(_ pod: SamplePod) -> JSONValue {
        .object([
            "kind": .string("Pod"), "apiVersion": .string("v1"),
            "metadata": .object([
                "name": .string(pod.name), "namespace": .string("default"), "uid": .string(Self.uid("pod/\(pod.name)")),
                "resourceVersion": .string("1"), "creationTimestamp": creationTimestamp,
                "labels": .object(["app": .string(pod.app)]),
            ]),
            "spec": .object([
                "nodeName": .string("dev-node"),
                "containers": .array([.object(["name": .string(pod.app), "image": .string(pod.image)])]),
            ]),
            "status": .object([
                "phase": .string("Running"), "podIP": .string(pod.ip), "hostIP": .string("192.168.0.2"),
                "startTime": creationTimestamp,
                "conditions": .array([.object(["type": .string("Ready"), "status": .string("True")])]),
                "containerStatuses": .array([
                    .object([
                        "name": .string(pod.app), "image": .string(pod.image), "ready": .bool(true),
                        "started": .bool(true), "restartCount": .number(0),
                        "state": .object(["running": .object(["startedAt": creationTimestamp])]),
                    ])
                ]),
            ]),
        ])
    }

    private var podList: JSONValue { podList(Self.pods) }

    private func podList(_ pods: [SamplePod]) -> JSONValue {
        .object([
            "kind": .string("PodList"), "apiVersion": .string("v1"),
            "metadata": .object(["resourceVersion": .string("1")]),
            "items": .array(pods.map { pod($0) }),
        ])
    }

    // MARK: Tables (what kubectl asks for when it prints)

    private static func column(_ name: String, _ type: String = "string", format: String = "", priority: Int = 0)
        -> JSONValue
    {
        .object([
            "name": .string(name), "type": .string(type), "format": .string(format), "description": .string(name),
            "priority": .number(Double(priority)),
        ])
    }

    private static func table(columns: [JSONValue], rows: [JSONValue]) -> JSONValue {
        .object([
            "kind": .string("Table"), "apiVersion": .string("meta.k8s.io/v1"),
            "metadata": .object(["resourceVersion": .string("1")]),
            "columnDefinitions": .array(columns), "rows": .array(rows),
        ])
    }

    private func partialMetadata(_ object: JSONValue) -> JSONValue {
        guard case .object(let fields) = object else { return .null }
        return .object([
            "kind": .string("PartialObjectMetadata"), "apiVersion": .string("meta.k8s.io/v1"),
            "metadata": fields["metadata"] ?? .object([:]),
        ])
    }

    private func namespaceTable(now: Date) -> JSONValue {
        let age = Self.age(since: startedAt, now: now)
        return Self.table(
            columns: [Self.column("Name", format: "name"), Self.column("Status"), Self.column("Age")],
            rows: Self.namespaces.map { name in
                .object([
                    "cells": .array([.string(name), .string("Active"), .string(age)]),
                    "object": partialMetadata(namespace(name)),
                ])
            })
    }

    private func podTable(_ pods: [SamplePod] = Self.pods, now: Date) -> JSONValue {
        let age = Self.age(since: startedAt, now: now)
        return Self.table(
            columns: [
                Self.column("Name", format: "name"), Self.column("Ready"), Self.column("Status"),
                Self.column("Restarts", "string"), Self.column("Age"), Self.column("IP", priority: 1),
                Self.column("Node", priority: 1),
            ],
            rows: pods.map { sample in
                .object([
                    "cells": .array([
                        .string(sample.name), .string("1/1"), .string("Running"), .string("0"), .string(age),
                        .string(sample.ip), .string("dev-node"),
                    ]),
                    "object": partialMetadata(pod(sample)),
                ])
            })
    }

    // MARK: Helpers

    static func status(_ code: Int, reason: String, message: String) -> LoopbackResponse {
        .json(
            .object([
                "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]),
                "status": .string("Failure"), "message": .string(message), "reason": .string(reason),
                "code": .number(Double(code)),
            ]), status: code)
    }

    static func notFound(_ resource: String, _ name: String) -> LoopbackResponse {
        status(404, reason: "NotFound", message: "\(resource) \"\(name)\" not found")
    }

    /// RFC 3339 in UTC, seconds precision, as Kubernetes writes timestamps.
    static func timestamp(_ date: Date) -> String {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)).formatted(.iso8601)
    }

    /// kubectl's short age: `45s`, `12m`, `3h`, `2d`.
    static func age(since start: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(start)))
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<(120 * 60): return "\(seconds / 60)m"
        case ..<(48 * 3600): return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }

    /// A stable UUID-shaped identifier for a sample object.
    static func uid(_ name: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16).leftPadded(to: 16) + String(~hash, radix: 16).leftPadded(to: 16)
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
