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

    /// Quoted, block and `!!str`-tagged scalars are text whatever they spell; so are plain ones that go-yaml v2
    /// does not read as anything else (`1e400` overflows, `12:30` is no YAML 1.1 number for it).
    @Test func quotedScalarsAndPlainTextAreStrings() throws {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            rules:
              - level: Metadata
                namespaces: ["2024", 'yes', !!str 12345, "~", "", 1e400, 12:30, kube-system]
                users:
                  - |-
                    no
                  - >-
                    0x1F
            """
        let rule = try AuditPolicy(parsing: yaml, file: file).rules[0]
        #expect(rule.namespaces == ["2024", "yes", "12345", "~", "", "1e400", "12:30", "kube-system"])
        #expect(rule.users == ["no", "0x1F"])
    }

    @Test(arguments: [
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
    ])
    func omitManagedFieldsTakesEveryGoYAMLBooleanSpelling(_ spelling: String) throws {
        let yaml = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            omitManagedFields: \(spelling)
            rules:
              - level: None
                omitManagedFields: \(spelling)
            """
        let policy = try AuditPolicy(parsing: yaml, file: file)
        let expected = ["y", "yes", "true", "on"].contains(spelling.lowercased())
        #expect(policy.omitManagedFields == expected)
        #expect(policy.rules[0].omitManagedFields == expected)
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

    /// A missing `apiVersion` is refused; a missing `kind` is the `Policy` the API server decodes
    /// the file into.
    @Test func missingAPIVersionIsRefusedAndMissingKindIsAPolicy() throws {
        #expect(parseError("kind: Policy\nrules:\n- level: None\n")?.problem == .missingField("apiVersion"))
        let policy = try AuditPolicy(parsing: "apiVersion: audit.k8s.io/v1\nrules:\n- level: Metadata\n", file: file)
        #expect(policy.rules.map(\.level) == [.metadata])
        #expect(
            parseError("apiVersion: audit.k8s.io/v1\nkind: Pod\nrules:\n- level: None\n")?.problem == .wrongKind("Pod"))
    }

    /// The API server reads `apiVersion` and `kind` with Go's `encoding/json`, which matches keys
    /// in any case; other fields must be spelt exactly (an unknown field is ignored).
    @Test func theTypeHeaderKeysMatchInAnyCase() throws {
        let policy = try AuditPolicy(
            parsing: "APIVersion: audit.k8s.io/v1\nKind: Policy\nrules:\n- level: Request\n", file: file)
        #expect(policy.rules.map(\.level) == [.request])
        #expect(
            parseError("APIVERSION: audit.k8s.io/v2\nrules:\n- level: None\n")?.problem
                == .unsupportedAPIVersion("audit.k8s.io/v2"))
        #expect(parseError("apiVersion: audit.k8s.io/v1\nRules:\n- level: None\n")?.problem == .noRules)
    }

    /// A `resources` item left empty decodes, in Go, to the empty entry: the core group, every resource.
    @Test func anEmptyResourcesItemIsTheWholeCoreGroup() throws {
        let policy = try AuditPolicy(
            parsing: "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  resources:\n  -\n",
            file: file)
        #expect(policy.rules.first?.resources == [AuditGroupResources(group: "", resources: [], resourceNames: [])])
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

    /// go-yaml v2 reads these plain scalars as booleans and numbers; the API server then refuses them where a
    /// string belongs. The error says to quote them.
    @Test(arguments: [
        ("  namespaces: [no]", 5, "rules[0].namespaces", "no", "boolean"),
        ("  namespaces: [default, on]", 5, "rules[0].namespaces", "on", "boolean"),
        ("  users:\n  - alice\n  - 12345", 7, "rules[0].users", "12345", "integer"),
        ("  userGroups: [0x1F]", 5, "rules[0].userGroups", "0x1F", "integer"),
        ("  verbs: [1.5]", 5, "rules[0].verbs", "1.5", "number"),
        ("  nonResourceURLs: [.inf]", 5, "rules[0].nonResourceURLs", ".inf", "number"),
        ("  resources: [{group: \"\", resources: [Y]}]", 5, "rules[0].resources[0].resources", "Y", "boolean"),
        ("  resources: [{group: 1, resources: [pods]}]", 5, "rules[0].resources[0].group", "1", "integer"),
        (
            "  resources: [{resources: [pods], resourceNames: [007]}]", 5, "rules[0].resources[0].resourceNames",
            "007", "integer"
        ),
        ("  omitStages: [TRUE]", 5, "rules[0].omitStages", "TRUE", "boolean"),
    ])
    func unquotedBooleansAndNumbersWhereAStringBelongsAreRefused(
        _ rest: String, _ line: Int, _ field: String, _ value: String, _ kind: String
    ) {
        let yaml = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n\(rest)\n"
        let error = parseError(yaml)
        #expect(error == .invalid(file: file, line: line, problem: .notAString(field: field, value: value, kind: kind)))
    }

    @Test func unquotedBooleanLevelIsRefusedWithAHintToQuote() {
        let yaml = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: yes\n"
        let error = parseError(yaml)
        #expect(
            error?.description
                == #"audit policy /etc/audit/policy.yaml line 4: rules[0].level must be a string, not the boolean yes: write "yes" to keep it as text"#
        )
    }

    @Test func numericAPIVersionAndKindAreRefused() {
        #expect(
            parseError("apiVersion: 1\nkind: Policy\nrules:\n- level: None\n")
                == .invalid(file: file, line: 1, problem: .notAString(field: "apiVersion", value: "1", kind: "integer"))
        )
        #expect(
            parseError("apiVersion: audit.k8s.io/v1\nkind: NO\nrules:\n- level: None\n")?.problem
                == .notAString(field: "kind", value: "NO", kind: "boolean"))
    }

    @Test func jsonNumberWhereAStringBelongsIsRefused() {
        let json =
            #"{"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None", "users": [12345]}]}"#
        #expect(parseError(json)?.problem == .notAString(field: "rules[0].users", value: "12345", kind: "integer"))
    }

    @Test func explicitTagThatDoesNotFitIsMalformedYAML() throws {
        let error = try #require(
            parseError("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: [!!int abc]\n"))
        #expect(error.line == 5)
        #expect(error.problem == .malformedYAML("cannot decode !!str `abc` as a !!int"))
    }

    @Test func quotedOrNumericOmitManagedFieldsIsAWrongType() {
        for value in [#""true""#, "'yes'", "1", "0", "!!str true"] {
            let yaml = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: \(value)\nrules:\n- level: None\n"
            #expect(
                parseError(yaml)
                    == .invalid(
                        file: file, line: 3, problem: .wrongType(field: "omitManagedFields", expected: "true or false")),
                "\(value)")
        }
    }

    /// go-yaml v2 turns boolean and number keys into strings for JSON, but refuses null and collection keys.
    @Test func nullAndCollectionKeysAreRefused() {
        for key in ["~", "null", "[a]", "{a: b}"] {
            let yaml = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  ? \(key)\n  : x\n"
            #expect(parseError(yaml)?.line == 5, "\(key)")
        }
        let numberKeys = "apiVersion: audit.k8s.io/v1\nkind: Policy\n1: x\ntrue: y\n0.5: z\nrules:\n- level: None\n"
        #expect(throws: Never.self) { try AuditPolicy(parsing: numberKeys, file: file) }
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
            .resourceNamesWithoutResources, .noRules, .notAString(field: "f", value: "no", kind: "boolean"),
        ]
        for problem in problems {
            let text = AuditPolicyError.invalid(file: file, line: 3, problem: problem).description
            #expect(text.hasPrefix("audit policy /etc/audit/policy.yaml line 3: "))
            #expect(!text.contains("\n"))
        }
    }
}
