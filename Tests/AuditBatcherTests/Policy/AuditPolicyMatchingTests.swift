import Testing

@testable import AuditBatcher

/// One row: a rule, a request, who makes it, and whether the rule applies.
struct MatchCase: CustomTestStringConvertible, Sendable {
    let label: String
    let rule: AuditPolicyRule
    let method: String
    let target: String
    var username: String? = "alice"
    var groups: [String] = ["banyan:dev", "system:authenticated"]
    let matches: Bool

    var testDescription: String { label }
}

private func resources(_ group: String = "", _ names: [String] = [], names resourceNames: [String] = [])
    -> [AuditGroupResources]
{
    [AuditGroupResources(group: group, resources: names, resourceNames: resourceNames)]
}

private let matchCases: [MatchCase] = [
    // A rule with no constraint matches everything, resource or not, authenticated or not.
    .init(
        label: "empty rule, resource", rule: .init(level: .metadata), method: "GET", target: "/api/v1/pods",
        matches: true),
    .init(
        label: "empty rule, non-resource", rule: .init(level: .metadata), method: "GET", target: "/version",
        matches: true),
    .init(
        label: "empty rule, anonymous", rule: .init(level: .metadata), method: "GET", target: "/healthz",
        username: nil, groups: [], matches: true),

    // users
    .init(
        label: "users hit", rule: .init(level: .request, users: ["bob", "alice"]), method: "GET", target: "/api",
        matches: true),
    .init(
        label: "users miss", rule: .init(level: .request, users: ["bob"]), method: "GET", target: "/api", matches: false
    ),
    .init(
        label: "users without user", rule: .init(level: .request, users: ["alice"]), method: "GET", target: "/api",
        username: nil, groups: [], matches: false),

    // userGroups: any one group is enough
    .init(
        label: "groups hit", rule: .init(level: .request, userGroups: ["system:authenticated"]), method: "GET",
        target: "/api", matches: true),
    .init(
        label: "groups miss", rule: .init(level: .request, userGroups: ["banyan:admin"]), method: "GET", target: "/api",
        matches: false),
    .init(
        label: "groups without user", rule: .init(level: .request, userGroups: ["banyan:dev"]), method: "GET",
        target: "/api", username: nil, groups: ["banyan:dev"], matches: false),

    // verbs are Kubernetes verbs, or lowercased methods for non-resource URLs
    .init(
        label: "verb list", rule: .init(level: .request, verbs: ["list"]), method: "GET", target: "/api/v1/pods",
        matches: true),
    .init(
        label: "verb get vs list", rule: .init(level: .request, verbs: ["get"]), method: "GET", target: "/api/v1/pods",
        matches: false),
    .init(
        label: "verb watch", rule: .init(level: .request, verbs: ["watch"]), method: "GET",
        target: "/api/v1/pods?watch=true", matches: true),
    .init(
        label: "verb post non-resource", rule: .init(level: .request, verbs: ["post"]), method: "POST", target: "/logs",
        matches: true),

    // resources: group, `*`, subresources
    .init(
        label: "core pods", rule: .init(level: .request, resources: resources("", ["pods"])), method: "GET",
        target: "/api/v1/namespaces/d/pods/web", matches: true),
    .init(
        label: "core pods vs apps group", rule: .init(level: .request, resources: resources("", ["deployments"])),
        method: "GET", target: "/apis/apps/v1/namespaces/d/deployments", matches: false),
    .init(
        label: "named group", rule: .init(level: .request, resources: resources("apps", ["deployments"])),
        method: "GET", target: "/apis/apps/v1/namespaces/d/deployments", matches: true),
    .init(
        label: "group without resources is the whole group", rule: .init(level: .request, resources: resources("apps")),
        method: "DELETE", target: "/apis/apps/v1/namespaces/d/statefulsets/db", matches: true),
    .init(
        label: "pods does not cover pods/log", rule: .init(level: .request, resources: resources("", ["pods"])),
        method: "GET", target: "/api/v1/namespaces/d/pods/web/log", matches: false),
    .init(
        label: "pods/log", rule: .init(level: .request, resources: resources("", ["pods/log"])), method: "GET",
        target: "/api/v1/namespaces/d/pods/web/log", matches: true),
    .init(
        label: "pods/log vs pods/exec", rule: .init(level: .request, resources: resources("", ["pods/log"])),
        method: "POST", target: "/api/v1/namespaces/d/pods/web/exec", matches: false),
    .init(
        label: "pods/* covers exec", rule: .init(level: .request, resources: resources("", ["pods/*"])),
        method: "POST", target: "/api/v1/namespaces/d/pods/web/exec", matches: true),
    .init(
        label: "pods/* also covers pods itself", rule: .init(level: .request, resources: resources("", ["pods/*"])),
        method: "GET", target: "/api/v1/namespaces/d/pods/web", matches: true),
    .init(
        label: "pods/* not services", rule: .init(level: .request, resources: resources("", ["pods/*"])),
        method: "GET", target: "/api/v1/namespaces/d/services/web/status", matches: false),
    .init(
        label: "*/scale covers deployments/scale",
        rule: .init(level: .request, resources: resources("apps", ["*/scale"])),
        method: "PUT", target: "/apis/apps/v1/namespaces/d/deployments/web/scale", matches: true),
    .init(
        label: "*/scale not the deployment", rule: .init(level: .request, resources: resources("apps", ["*/scale"])),
        method: "PUT", target: "/apis/apps/v1/namespaces/d/deployments/web", matches: false),
    .init(
        label: "* covers subresources", rule: .init(level: .request, resources: resources("", ["*"])),
        method: "GET", target: "/api/v1/nodes/n1/status", matches: true),
    .init(
        label: "resources never match non-resource URLs", rule: .init(level: .request, resources: resources("", ["*"])),
        method: "GET", target: "/api/v1", matches: false),

    // resourceNames
    .init(
        label: "resourceNames hit", rule: .init(level: .request, resources: resources("", ["secrets"], names: ["tls"])),
        method: "GET", target: "/api/v1/namespaces/d/secrets/tls", matches: true),
    .init(
        label: "resourceNames miss",
        rule: .init(level: .request, resources: resources("", ["secrets"], names: ["tls"])),
        method: "GET", target: "/api/v1/namespaces/d/secrets/db", matches: false),
    .init(
        label: "resourceNames vs a list",
        rule: .init(level: .request, resources: resources("", ["secrets"], names: ["tls"])),
        method: "GET", target: "/api/v1/namespaces/d/secrets", matches: false),
    .init(
        label: "resourceNames via fieldSelector",
        rule: .init(level: .request, resources: resources("", ["secrets"], names: ["tls"])),
        method: "GET", target: "/api/v1/namespaces/d/secrets?fieldSelector=metadata.name%3Dtls", matches: true),

    // namespaces, with "" for cluster-scoped requests
    .init(
        label: "namespace hit", rule: .init(level: .request, namespaces: ["kube-system"]), method: "GET",
        target: "/api/v1/namespaces/kube-system/configmaps", matches: true),
    .init(
        label: "namespace miss", rule: .init(level: .request, namespaces: ["kube-system"]), method: "GET",
        target: "/api/v1/namespaces/default/configmaps", matches: false),
    .init(
        label: "named namespace vs cluster-scoped", rule: .init(level: .request, namespaces: ["kube-system"]),
        method: "GET", target: "/api/v1/nodes", matches: false),
    .init(
        label: "empty namespace is cluster-scoped", rule: .init(level: .request, namespaces: [""]), method: "GET",
        target: "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", matches: true),
    .init(
        label: "empty namespace vs namespaced", rule: .init(level: .request, namespaces: [""]), method: "GET",
        target: "/api/v1/namespaces/default/pods", matches: false),
    .init(
        label: "namespaces never match non-resource URLs", rule: .init(level: .request, namespaces: [""]),
        method: "GET", target: "/healthz", matches: false),
    .init(
        label: "namespace object is in its own namespace", rule: .init(level: .request, namespaces: ["team-a"]),
        method: "DELETE", target: "/api/v1/namespaces/team-a", matches: true),

    // nonResourceURLs: exact, `*` prefix, `*`
    .init(
        label: "nonResourceURL exact", rule: .init(level: .none, nonResourceURLs: ["/healthz"]), method: "GET",
        target: "/healthz", matches: true),
    .init(
        label: "nonResourceURL exact is not a prefix", rule: .init(level: .none, nonResourceURLs: ["/healthz"]),
        method: "GET", target: "/healthz/etcd", matches: false),
    .init(
        label: "nonResourceURL prefix", rule: .init(level: .none, nonResourceURLs: ["/healthz*"]), method: "GET",
        target: "/healthz/etcd", matches: true),
    .init(
        label: "nonResourceURL /api* covers discovery", rule: .init(level: .none, nonResourceURLs: ["/api*"]),
        method: "GET", target: "/apis/apps/v1", matches: true),
    .init(
        label: "nonResourceURL never matches resources", rule: .init(level: .none, nonResourceURLs: ["/api*"]),
        method: "GET", target: "/api/v1/pods", matches: false),
    .init(
        label: "nonResourceURL *", rule: .init(level: .none, nonResourceURLs: ["*"]), method: "GET",
        target: "/openapi/v2", matches: true),

    // combined fields must all hold
    .init(
        label: "combined all hold",
        rule: .init(
            level: .requestResponse, userGroups: ["banyan:dev"], verbs: ["create"],
            resources: resources("", ["pods/exec"]), namespaces: ["prod"]),
        method: "POST", target: "/api/v1/namespaces/prod/pods/web/exec", matches: true),
    .init(
        label: "combined wrong namespace",
        rule: .init(
            level: .requestResponse, userGroups: ["banyan:dev"], verbs: ["create"],
            resources: resources("", ["pods/exec"]), namespaces: ["prod"]),
        method: "POST", target: "/api/v1/namespaces/staging/pods/web/exec", matches: false),
    .init(
        label: "combined wrong verb",
        rule: .init(
            level: .requestResponse, userGroups: ["banyan:dev"], verbs: ["create"],
            resources: resources("", ["pods/exec"]), namespaces: ["prod"]),
        method: "GET", target: "/api/v1/namespaces/prod/pods/web/exec", matches: false),
    .init(
        label: "combined wrong group",
        rule: .init(
            level: .requestResponse, userGroups: ["banyan:ops"], verbs: ["create"],
            resources: resources("", ["pods/exec"]), namespaces: ["prod"]),
        method: "POST", target: "/api/v1/namespaces/prod/pods/web/exec", matches: false),
]

/// `é` written as one code point (U+00E9) and as `e` plus a combining acute (U+0301): Swift's `==` calls them
/// equal, Go (and so the API server) compares bytes and does not. In request targets they are percent-encoded.
private let composed = "caf\u{E9}"
private let decomposed = "cafe\u{301}"
private let composedInPath = "caf%C3%A9"
private let decomposedInPath = "cafe%CC%81"

private let byteComparisonCases: [MatchCase] = [
    .init(
        label: "users compare bytes", rule: .init(level: .request, users: [decomposed]), method: "GET",
        target: "/api", username: composed, matches: false),
    .init(
        label: "users same bytes", rule: .init(level: .request, users: [decomposed]), method: "GET", target: "/api",
        username: decomposed, matches: true),
    .init(
        label: "groups compare bytes", rule: .init(level: .request, userGroups: [decomposed]), method: "GET",
        target: "/api", groups: [composed], matches: false),
    .init(
        label: "groups same bytes", rule: .init(level: .request, userGroups: [decomposed]), method: "GET",
        target: "/api", groups: ["x", decomposed], matches: true),
    .init(
        label: "verbs compare bytes", rule: .init(level: .request, verbs: [decomposed]), method: composed,
        target: "/logs", matches: false),
    .init(
        label: "verbs same bytes", rule: .init(level: .request, verbs: [composed]), method: composed,
        target: "/logs", matches: true),
    .init(
        label: "namespaces compare bytes", rule: .init(level: .request, namespaces: [decomposed]), method: "GET",
        target: "/api/v1/namespaces/\(composedInPath)/pods", matches: false),
    .init(
        label: "namespaces same bytes", rule: .init(level: .request, namespaces: [decomposed]), method: "GET",
        target: "/api/v1/namespaces/\(decomposedInPath)/pods", matches: true),
    .init(
        label: "group compares bytes", rule: .init(level: .request, resources: resources(decomposed)),
        method: "GET", target: "/apis/\(composedInPath)/v1/things", matches: false),
    .init(
        label: "group same bytes", rule: .init(level: .request, resources: resources(composed)),
        method: "GET", target: "/apis/\(composedInPath)/v1/things", matches: true),
    .init(
        label: "resource compares bytes", rule: .init(level: .request, resources: resources("", [decomposed])),
        method: "GET", target: "/api/v1/namespaces/d/\(composedInPath)/x", matches: false),
    .init(
        label: "resource/subresource compares bytes",
        rule: .init(level: .request, resources: resources("", ["pods/" + decomposed])),
        method: "GET", target: "/api/v1/namespaces/d/pods/web/\(composedInPath)", matches: false),
    .init(
        label: "resource/subresource same bytes",
        rule: .init(level: .request, resources: resources("", ["pods/" + composed])),
        method: "GET", target: "/api/v1/namespaces/d/pods/web/\(composedInPath)", matches: true),
    .init(
        label: "*/subresource compares bytes",
        rule: .init(level: .request, resources: resources("", ["*/" + decomposed])),
        method: "GET", target: "/api/v1/namespaces/d/pods/web/\(composedInPath)", matches: false),
    .init(
        label: "*/subresource same bytes",
        rule: .init(level: .request, resources: resources("", ["*/" + composed])),
        method: "GET", target: "/api/v1/namespaces/d/pods/web/\(composedInPath)", matches: true),
    .init(
        label: "resource/* compares bytes",
        rule: .init(level: .request, resources: resources("", [decomposed + "/*"])),
        method: "GET", target: "/api/v1/namespaces/d/\(composedInPath)/web/status", matches: false),
    .init(
        label: "resource/* same bytes",
        rule: .init(level: .request, resources: resources("", [composed + "/*"])),
        method: "GET", target: "/api/v1/namespaces/d/\(composedInPath)/web/status", matches: true),
    .init(
        label: "resourceNames compare bytes",
        rule: .init(level: .request, resources: resources("", ["secrets"], names: [decomposed])),
        method: "GET", target: "/api/v1/namespaces/d/secrets/\(composedInPath)", matches: false),
    .init(
        label: "resourceNames same bytes",
        rule: .init(level: .request, resources: resources("", ["secrets"], names: [decomposed])),
        method: "GET", target: "/api/v1/namespaces/d/secrets/\(decomposedInPath)", matches: true),
    .init(
        label: "nonResourceURL exact compares bytes", rule: .init(level: .none, nonResourceURLs: ["/" + decomposed]),
        method: "GET", target: "/\(composedInPath)", matches: false),
    .init(
        label: "nonResourceURL prefix compares bytes",
        rule: .init(level: .none, nonResourceURLs: ["/\(composed)*"]),
        method: "GET", target: "/\(decomposedInPath)/x", matches: false),
    // Go's HasPrefix is a byte prefix: `/cafe` is a prefix of `/cafe` + U+0301 though Swift's `hasPrefix` says no.
    .init(
        label: "nonResourceURL prefix may end inside a character",
        rule: .init(level: .none, nonResourceURLs: ["/cafe*"]),
        method: "GET", target: "/\(decomposedInPath)", matches: true),
]

@Suite("Audit policy matching")
struct AuditPolicyMatchingTests {
    @Test(arguments: matchCases + byteComparisonCases)
    func ruleMatchesAsTheAPIServerWould(_ row: MatchCase) {
        let request = RequestInfo(method: row.method, requestTarget: row.target)
        #expect(row.rule.matches(request, username: row.username, groups: row.groups) == row.matches)
    }

    @Test func firstMatchingRuleWins() {
        let policy = AuditPolicy(rules: [
            AuditPolicyRule(level: .none, users: ["system:kube-proxy"]),
            AuditPolicyRule(level: .requestResponse, resources: resources("", ["secrets"])),
            AuditPolicyRule(level: .request, verbs: ["get"]),
            AuditPolicyRule(level: .metadata),
        ])
        func level(_ method: String, _ target: String, _ user: String) -> AuditLevel {
            policy.evaluate(RequestInfo(method: method, requestTarget: target), username: user).level
        }
        #expect(level("GET", "/api/v1/namespaces/d/secrets/x", "system:kube-proxy") == .none)
        #expect(level("GET", "/api/v1/namespaces/d/secrets/x", "alice") == .requestResponse)
        #expect(level("GET", "/api/v1/namespaces/d/pods/x", "alice") == .request)
        #expect(level("GET", "/api/v1/namespaces/d/pods", "alice") == .metadata)
    }

    @Test func noMatchingRuleMeansNoneWithThePolicyDefaults() {
        let policy = AuditPolicy(
            rules: [AuditPolicyRule(level: .metadata, users: ["bob"], omitStages: [.panic], omitManagedFields: false)],
            omitStages: [.requestReceived],
            omitManagedFields: true
        )
        let config = policy.evaluate(RequestInfo(method: "GET", requestTarget: "/api/v1/pods"), username: "alice")
        #expect(config == RequestAuditConfig(level: .none, omitStages: [.requestReceived], omitManagedFields: true))
        #expect(!config.records(.responseComplete))
    }

    @Test func omitStagesIsTheUnionOfPolicyAndRule() {
        let policy = AuditPolicy(
            rules: [AuditPolicyRule(level: .request, omitStages: [.responseStarted, .requestReceived])],
            omitStages: [.requestReceived, .panic]
        )
        let config = policy.evaluate(RequestInfo(method: "GET", requestTarget: "/version"), username: "alice")
        #expect(config.omitStages == [.requestReceived, .responseStarted, .panic])
        #expect(config.records(.responseComplete))
        #expect(!config.records(.requestReceived))
    }

    @Test func ruleOmitManagedFieldsOverridesThePolicyOnlyWhenSet() {
        let policy = AuditPolicy(
            rules: [
                AuditPolicyRule(level: .request, verbs: ["create"], omitManagedFields: false),
                AuditPolicyRule(level: .request),
            ],
            omitManagedFields: true
        )
        let create = RequestInfo(method: "POST", requestTarget: "/api/v1/namespaces/d/pods")
        let get = RequestInfo(method: "GET", requestTarget: "/api/v1/namespaces/d/pods/x")
        #expect(!policy.evaluate(create, username: "alice").omitManagedFields)
        #expect(policy.evaluate(get, username: "alice").omitManagedFields)
    }

    @Test func parsedPolicyMatchesLikeTheKubernetesExample() throws {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            omitStages: ["RequestReceived"]
            rules:
              - level: RequestResponse
                resources:
                - group: ""
                  resources: ["pods"]
              - level: Metadata
                resources:
                - group: ""
                  resources: ["pods/log", "pods/status"]
              - level: None
                resources:
                - group: ""
                  resources: ["configmaps"]
                  resourceNames: ["controller-leader"]
              - level: None
                users: ["system:kube-proxy"]
                verbs: ["watch"]
                resources:
                - group: ""
                  resources: ["endpoints", "services"]
              - level: None
                userGroups: ["system:authenticated"]
                nonResourceURLs: ["/api*", "/version"]
              - level: Request
                resources:
                - group: ""
                  resources: ["configmaps"]
                namespaces: ["kube-system"]
              - level: Metadata
                resources:
                - group: ""
                  resources: ["secrets", "configmaps"]
              - level: Request
                resources:
                - group: ""
                - group: "extensions"
              - level: Metadata
                omitStages: ["RequestReceived"]
            """
        let policy = try AuditPolicy(parsing: yaml, file: "audit-policy.yaml")
        let groups = ["system:authenticated"]
        func level(_ method: String, _ target: String, _ user: String = "alice") -> AuditLevel {
            policy.evaluate(RequestInfo(method: method, requestTarget: target), username: user, groups: groups).level
        }
        #expect(level("GET", "/api/v1/namespaces/d/pods/web") == .requestResponse)
        #expect(level("GET", "/api/v1/namespaces/d/pods/web/log") == .metadata)
        #expect(level("PUT", "/api/v1/namespaces/kube-system/configmaps/controller-leader") == .none)
        #expect(level("GET", "/api/v1/services?watch=1", "system:kube-proxy") == .none)
        #expect(level("GET", "/api/v1/services", "system:kube-proxy") == .request)
        #expect(level("GET", "/version") == .none)
        #expect(level("GET", "/apis") == .none)
        #expect(level("PATCH", "/api/v1/namespaces/kube-system/configmaps/cm") == .request)
        #expect(level("GET", "/api/v1/namespaces/default/secrets/s") == .metadata)
        #expect(level("GET", "/api/v1/nodes") == .request)
        #expect(level("GET", "/apis/apps/v1/deployments") == .metadata)
        #expect(level("GET", "/healthz") == .metadata)
    }
}

@Suite("Audit levels and stages")
struct AuditLevelAndStageTests {
    @Test func levelsAreOrderedByHowMuchTheyRecord() {
        #expect(AuditLevel.allCases.sorted() == [.none, .metadata, .request, .requestResponse])
        #expect(AuditLevel.request >= .metadata)
        #expect(!(AuditLevel.metadata >= .request))
    }

    @Test func levelsAndStagesUseTheKubernetesSpellings() {
        #expect(AuditLevel.allCases.map(\.rawValue) == ["None", "Metadata", "Request", "RequestResponse"])
        #expect(
            AuditStage.allCases.map(\.rawValue) == ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]
        )
    }
}
