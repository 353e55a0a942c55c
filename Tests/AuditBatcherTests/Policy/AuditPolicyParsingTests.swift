import Foundation
import Testing

@testable import AuditBatcher

@Suite("Audit policy parsing")
struct AuditPolicyParsingTests {
    private let file = "/etc/audit/policy.yaml"

    @Test func banyanMetadataCatchAllParsesToOneMetadataRule() throws {
        let policy = try AuditPolicy(parsing: Fixtures.banyanPolicy, file: file)
        #expect(policy == AuditPolicy(rules: [AuditPolicyRule(level: .metadata)]))
    }

    @Test func banyanPolicyAuditsEveryRequestAtMetadata() throws {
        let policy = try AuditPolicy(parsing: Fixtures.banyanPolicy, file: file)
        let requests = [
            RequestInfo(method: "GET", requestTarget: "/api/v1/namespaces/default/pods"),
            RequestInfo(method: "POST", requestTarget: "/apis/apps/v1/namespaces/x/deployments"),
            RequestInfo(method: "GET", requestTarget: "/version"),
        ]
        for request in requests {
            #expect(policy.evaluate(request, username: nil).level == .metadata)
        }
    }

    @Test func everyFieldOfARuleIsRead() throws {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            metadata:
              name: ignored
            omitStages: [RequestReceived]
            omitManagedFields: true
            rules:
              - level: RequestResponse
                users: ["alice", "bob"]
                userGroups: ["banyan:admins"]
                verbs: [get, list]
                resources:
                  - group: ""
                    resources: ["pods", "pods/log"]
                    resourceNames: ["web"]
                  - group: apps
                namespaces: ["default", ""]
                omitStages: [ResponseStarted, Panic]
                omitManagedFields: false
              - level: None
                nonResourceURLs: ["/healthz", "/api*"]
            """
        let policy = try AuditPolicy(parsing: yaml, file: file)
        #expect(policy.omitStages == [.requestReceived])
        #expect(policy.omitManagedFields)
        #expect(
            policy.rules == [
                AuditPolicyRule(
                    level: .requestResponse,
                    users: ["alice", "bob"],
                    userGroups: ["banyan:admins"],
                    verbs: ["get", "list"],
                    resources: [
                        AuditGroupResources(group: "", resources: ["pods", "pods/log"], resourceNames: ["web"]),
                        AuditGroupResources(group: "apps"),
                    ],
                    namespaces: ["default", ""],
                    omitStages: [.responseStarted, .panic],
                    omitManagedFields: false
                ),
                AuditPolicyRule(level: .none, nonResourceURLs: ["/healthz", "/api*"]),
            ]
        )
    }

    @Test func jsonPolicyParsesLikeYAML() throws {
        let json = """
            {
            \t"apiVersion": "audit.k8s.io/v1",
            \t"kind": "Policy",
            \t"omitStages": ["RequestReceived"],
            \t"rules": [
            \t\t{"level": "None", "users": ["system:kube-proxy"], "verbs": ["watch"]},
            \t\t{"level": "Request", "resources": [{"group": "", "resources": ["configmaps"]}]},
            \t\t{"level": "Metadata", "omitManagedFields": true}
            \t]
            }
            """
        let policy = try AuditPolicy(parsing: json, file: "policy.json")
        #expect(
            policy
                == AuditPolicy(
                    rules: [
                        AuditPolicyRule(level: .none, users: ["system:kube-proxy"], verbs: ["watch"]),
                        AuditPolicyRule(
                            level: .request,
                            resources: [AuditGroupResources(group: "", resources: ["configmaps"])]
                        ),
                        AuditPolicyRule(level: .metadata, omitManagedFields: true),
                    ],
                    omitStages: [.requestReceived]
                )
        )
    }

    @Test func v1beta1PolicyIsAccepted() throws {
        let yaml = "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: Request\n"
        #expect(try AuditPolicy(parsing: yaml, file: file).rules == [AuditPolicyRule(level: .request)])
    }

    @Test func nullAndEmptyListsMeanNoConstraint() throws {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            omitStages:
            rules:
              - level: Metadata
                users: null
                verbs: []
                namespaces: ~
            """
        #expect(try AuditPolicy(parsing: yaml, file: file) == AuditPolicy(rules: [AuditPolicyRule(level: .metadata)]))
    }

    @Test func unquotedNumbersAndBooleansInStringListsAreTakenAsText() throws {
        let yaml = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  namespaces: [2024, yes]\n"
        #expect(try AuditPolicy(parsing: yaml, file: file).rules[0].namespaces == ["2024", "yes"])
    }

    /// The API server's YAML decoder reads the first document and never looks at the rest, even a broken one.
    @Test func onlyTheFirstDocumentIsRead() throws {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: Metadata
            ---
            apiVersion: v1
            kind: ConfigMap
            ---
            rules: [unclosed
            """
        #expect(try AuditPolicy(parsing: yaml, file: file) == AuditPolicy(rules: [AuditPolicyRule(level: .metadata)]))
        let explicitStart = "---\napiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None}]\n...\n---\n- x\n"
        #expect(try AuditPolicy(parsing: explicitStart, file: file).rules == [AuditPolicyRule(level: .none)])
    }

    @Test func loadReadsTheFileFromDisk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("audit-policy-\(UUID()).yaml")
        try Fixtures.banyanPolicy.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try AuditPolicy.load(path: url.path) == AuditPolicy(rules: [AuditPolicyRule(level: .metadata)]))
    }

    @Test func missingFileIsUnreadableAndNamesThePath() {
        let path = "/nonexistent/audit-policy.yaml"
        let error = #expect(throws: AuditPolicyError.self) { try AuditPolicy.load(path: path) }
        guard case .unreadable(let file, _) = error else {
            Issue.record("expected .unreadable, got \(String(describing: error))")
            return
        }
        #expect(file == path)
        #expect(error?.description.hasPrefix("audit policy /nonexistent/audit-policy.yaml: cannot read: ") == true)
    }
}

/// Every way a policy is refused: the right problem, the right line, one line of text naming the file.
@Suite("Audit policy errors")
struct AuditPolicyErrorTests {
    private let file = "/etc/audit/policy.yaml"

    private func parseError(_ text: String) -> AuditPolicyError? {
        #expect(throws: AuditPolicyError.self) { try AuditPolicy(parsing: text, file: file) }
    }

    @Test func unknownLevelNamesFileLineAndLevel() {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: Metadata
                verbs: [get]
              - users: [alice]
                level: Everything
            """
        let error = parseError(yaml)
        #expect(error == .invalid(file: file, line: 7, problem: .unknownLevel("Everything")))
        #expect(error?.description == #"audit policy /etc/audit/policy.yaml line 7: unknown level "Everything""#)
    }

    @Test func malformedYAMLGivesTheLineOnOneLine() throws {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: Metadata
                verbs: [get, list
              - level: None
            """
        let error = try #require(parseError(yaml))
        guard case .invalid(file, let line?, .malformedYAML) = error else {
            Issue.record("expected malformed YAML with a line, got \(error)")
            return
        }
        #expect((5...6).contains(line))
        #expect(error.description.hasPrefix("audit policy /etc/audit/policy.yaml line \(line): malformed YAML: "))
        #expect(!error.description.contains("\n"))
    }

    @Test func tabIndentationIsMalformedYAML() throws {
        let error = try #require(parseError("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n\t- level: None\n"))
        #expect(error.line == 4)
        guard case .malformedYAML = error.problem else {
            Issue.record("expected malformed YAML, got \(error)")
            return
        }
    }

    @Test func duplicateKeyIsMalformedYAML() throws {
        let error = try #require(parseError("apiVersion: audit.k8s.io/v1\nkind: Policy\nkind: Policy\nrules: []\n"))
        guard case .malformedYAML(let detail) = error.problem else {
            Issue.record("expected malformed YAML, got \(error)")
            return
        }
        #expect(detail.contains("kind"))
    }

    @Test func wrongKindIsRefused() {
        let error = parseError("apiVersion: audit.k8s.io/v1\nkind: ConfigMap\nrules:\n- level: None\n")
        #expect(error == .invalid(file: file, line: 2, problem: .wrongKind("ConfigMap")))
        #expect(
            error?.description == #"audit policy /etc/audit/policy.yaml line 2: kind is "ConfigMap", want "Policy""#)
    }

    @Test func wrongAPIVersionIsRefused() {
        let error = parseError("apiVersion: v1\nkind: Policy\nrules:\n- level: None\n")
        #expect(error == .invalid(file: file, line: 1, problem: .unsupportedAPIVersion("v1")))
    }

    @Test func missingAPIVersionAndKindAreRefused() {
        #expect(parseError("kind: Policy\nrules:\n- level: None\n")?.problem == .missingField("apiVersion"))
        #expect(parseError("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n")?.problem == .missingField("kind"))
    }

    @Test func ruleWithoutLevelIsRefusedAtTheRule() {
        let error = parseError("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- verbs: [get]\n")
        #expect(error == .invalid(file: file, line: 4, problem: .missingField("rules[0].level")))
    }

    @Test func policyWithoutRulesIsRefused() {
        #expect(parseError("apiVersion: audit.k8s.io/v1\nkind: Policy\n")?.problem == .noRules)
        #expect(parseError("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n")?.problem == .noRules)
    }

    @Test func emptyDocumentIsRefused() {
        #expect(parseError("") == .invalid(file: file, line: nil, problem: .empty))
        #expect(parseError("")?.description == "audit policy /etc/audit/policy.yaml: the policy is empty")
    }

    @Test func documentThatIsNotAMappingIsRefused() {
        #expect(parseError("- level: None\n")?.problem == .wrongType(field: "the policy", expected: "a mapping"))
    }

    @Test func ruleWithResourcesAndNonResourceURLsIsRefused() {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: Metadata
                resources: [{group: ""}]
                nonResourceURLs: ["/healthz"]
            """
        #expect(parseError(yaml) == .invalid(file: file, line: 4, problem: .resourcesAndNonResourceURLs))
    }

    @Test func ruleWithNamespacesAndNonResourceURLsIsRefused() {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: Metadata
                namespaces: [default]
                nonResourceURLs: ["/healthz"]
            """
        #expect(parseError(yaml)?.problem == .resourcesAndNonResourceURLs)
    }

    @Test func unknownStageIsRefusedAtRuleAndPolicyLevel() {
        let ruleLevel = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  omitStages: [Done]\n"
        #expect(parseError(ruleLevel) == .invalid(file: file, line: 5, problem: .unknownStage("Done")))
        let policyLevel = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages:\n- Started\nrules:\n- level: None\n"
        #expect(parseError(policyLevel) == .invalid(file: file, line: 4, problem: .unknownStage("Started")))
    }

    @Test func nonResourceURLMustStartWithSlashAndEndInTheOnlyStar() {
        let noSlash = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [healthz]\n"
        guard case .invalidNonResourceURL("healthz", _)? = parseError(noSlash)?.problem else {
            Issue.record("expected invalid non-resource URL")
            return
        }
        let innerStar =
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [\"/a*/b\"]\n"
        guard case .invalidNonResourceURL("/a*/b", _)? = parseError(innerStar)?.problem else {
            Issue.record("expected invalid non-resource URL")
            return
        }
    }

    /// Kubernetes looks for `*` in every byte but the last; a combining mark after the `*` leaves it inside.
    @Test func starFollowedByACombiningMarkIsNotTheLastCharacter() throws {
        let starThenMark =
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [\"/a*\\u0301\"]\n"
        guard case .invalidNonResourceURL(let url, _)? = parseError(starThenMark)?.problem else {
            Issue.record("expected invalid non-resource URL")
            return
        }
        #expect(Array(url.utf8) == Array("/a*\u{301}".utf8))
        let markThenStar =
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [\"/a\\u0301*\"]\n"
        let urls = try AuditPolicy(parsing: markThenStar, file: file).rules[0].nonResourceURLs
        #expect(urls.map { Array($0.utf8) } == [Array("/a\u{301}*".utf8)])
    }

    @Test func groupThatIsNotADNSSubdomainIsRefused() {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: None
                resources:
                  - group: rbac.authorization.k8s.io/v1
            """
        #expect(
            parseError(yaml) == .invalid(file: file, line: 6, problem: .invalidGroup("rbac.authorization.k8s.io/v1")))
    }

    @Test func resourceNamesWithoutResourcesIsRefused() {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: None
                resources:
                  - group: ""
                    resourceNames: [web]
            """
        #expect(parseError(yaml) == .invalid(file: file, line: 7, problem: .resourceNamesWithoutResources))
    }

    @Test func scalarWhereAListBelongsIsAWrongType() {
        let yaml = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: alice\n"
        #expect(
            parseError(yaml)
                == .invalid(file: file, line: 5, problem: .wrongType(field: "rules[0].users", expected: "a list"))
        )
    }

    @Test func nonBooleanOmitManagedFieldsIsAWrongType() {
        let yaml = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: sometimes\nrules:\n- level: None\n"
        #expect(parseError(yaml)?.problem == .wrongType(field: "omitManagedFields", expected: "true or false"))
    }

    @Test func everyErrorDescriptionIsOneLine() {
        let problems: [AuditPolicyProblem] = [
            .malformedYAML("x"), .empty, .wrongType(field: "f", expected: "a list"), .missingField("kind"),
            .unsupportedAPIVersion("v1"), .wrongKind("Pod"), .unknownLevel("L"), .unknownStage("S"),
            .resourcesAndNonResourceURLs, .invalidNonResourceURL("u", reason: "r"), .invalidGroup("g"),
            .resourceNamesWithoutResources, .noRules,
        ]
        for problem in problems {
            let text = AuditPolicyError.invalid(file: file, line: 3, problem: problem).description
            #expect(text.hasPrefix("audit policy /etc/audit/policy.yaml line 3: "))
            #expect(!text.contains("\n"))
        }
    }
}
