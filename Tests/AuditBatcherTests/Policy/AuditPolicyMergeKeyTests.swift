import Testing

@testable import AuditBatcher

/// YAML merge keys (`<<`), read as the API server's go-yaml v2 reads them: the merged mappings' keys are written
/// where the `<<` stands, so keys after it win over merged ones; in a list of mappings the earlier ones win.
@Suite("Audit policy merge keys")
struct AuditPolicyMergeKeyTests {
    private let file = "/etc/audit/policy.yaml"
    private let header = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"

    private func parseError(_ text: String) -> AuditPolicyError? {
        #expect(throws: AuditPolicyError.self) { try AuditPolicy(parsing: text, file: file) }
    }

    @Test func inlineMergeNarrowsTheRule() throws {
        let yaml =
            header
            + #"rules: [{<<: {resources: [{group: "", resources: ["secrets"]}]}, level: None}, {level: Metadata}]"#
        let policy = try AuditPolicy(parsing: yaml, file: file)
        #expect(
            policy.rules[0]
                == AuditPolicyRule(level: .none, resources: [AuditGroupResources(group: "", resources: ["secrets"])]))
        func level(_ target: String) -> AuditLevel {
            policy.evaluate(RequestInfo(method: "GET", requestTarget: target), username: "alice").level
        }
        #expect(level("/api/v1/namespaces/d/secrets/s") == .none)
        #expect(level("/api/v1/namespaces/d/pods/p") == .metadata)
    }

    @Test func aliasedDefaultsAreMergedAndKeysAfterThemWin() throws {
        let yaml =
            """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            x-defaults: &defaults
              level: Request
              verbs: [get, list]
              omitStages: [RequestReceived]
            rules:
              - <<: *defaults
                users: [alice]
              - <<: *defaults
                level: Metadata
            """
        let rules = try AuditPolicy(parsing: yaml, file: file).rules
        #expect(
            rules == [
                AuditPolicyRule(
                    level: .request, users: ["alice"], verbs: ["get", "list"], omitStages: [.requestReceived]),
                AuditPolicyRule(level: .metadata, verbs: ["get", "list"], omitStages: [.requestReceived]),
            ])
    }

    /// go-yaml v2 writes merged keys at the `<<`'s place: a key before it is overwritten.
    @Test func mergedKeysOverwriteKeysBeforeTheMergeKey() throws {
        let yaml = header + "rules:\n- {level: None, verbs: [get], <<: {level: Metadata}}\n"
        #expect(
            try AuditPolicy(parsing: yaml, file: file).rules == [AuditPolicyRule(level: .metadata, verbs: ["get"])])
    }

    @Test func inAListOfMappingsTheEarlierOneWins() throws {
        let yaml =
            """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            a: &a {level: None, users: [alice]}
            b: &b {level: Metadata, users: [bob], verbs: [watch]}
            rules:
              - <<: [*a, *b]
              - <<: [*b, *a]
              - <<: [*b, {level: Request}]
            """
        #expect(
            try AuditPolicy(parsing: yaml, file: file).rules == [
                AuditPolicyRule(level: .none, users: ["alice"], verbs: ["watch"]),
                AuditPolicyRule(level: .metadata, users: ["bob"], verbs: ["watch"]),
                AuditPolicyRule(level: .metadata, users: ["bob"], verbs: ["watch"]),
            ])
    }

    @Test func nestedMergesResolve() throws {
        let yaml =
            """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            base: &base {level: Request, verbs: [get]}
            middle: &middle {<<: *base, users: [alice]}
            group: &group {group: apps}
            rules:
              - <<: *middle
                resources:
                  - <<: *group
                    resources: [deployments]
            """
        #expect(
            try AuditPolicy(parsing: yaml, file: file).rules == [
                AuditPolicyRule(
                    level: .request, users: ["alice"], verbs: ["get"],
                    resources: [AuditGroupResources(group: "apps", resources: ["deployments"])])
            ])
    }

    @Test func theDocumentItselfMayMerge() throws {
        let yaml = "<<: {apiVersion: audit.k8s.io/v1, kind: Policy, rules: [{level: None}]}\nomitStages: [Panic]\n"
        #expect(
            try AuditPolicy(parsing: yaml, file: file)
                == AuditPolicy(rules: [AuditPolicyRule(level: .none)], omitStages: [.panic]))
    }

    @Test func anInlineAnchoredListMerges() throws {
        let yaml = header + "rules:\n- <<: &both [{level: None}, {users: [alice]}]\n"
        #expect(try AuditPolicy(parsing: yaml, file: file).rules == [AuditPolicyRule(level: .none, users: ["alice"])])
    }

    @Test func onlyAPlainOrMergeTaggedKeyMerges() throws {
        let quoted = header + #"rules: [{"<<": {users: [alice]}, level: None}]"#
        #expect(try AuditPolicy(parsing: quoted, file: file).rules == [AuditPolicyRule(level: .none)])
        let tagged = header + #"rules: [{!!merge "<<": {users: [alice]}, level: None}]"#
        #expect(try AuditPolicy(parsing: tagged, file: file).rules == [AuditPolicyRule(level: .none, users: ["alice"])])
    }

    /// Anything but a mapping or a list written in place of mappings is refused, naming the `<<` line; an alias
    /// to a list is refused too, as go-yaml v2 refuses it.
    @Test(arguments: [
        "  <<: x", "  <<: ~", "  <<: [[{level: None}]]", "  <<: [x]", "  <<: *list", "  <<: [*list]",
    ])
    func mergeOfAnythingButMappingsIsRefused(_ line: String) {
        let yaml = header + "list: &list [{level: None}]\nrules:\n- level: None\n\(line)\n"
        #expect(
            parseError(yaml)
                == .invalid(
                    file: file, line: 6,
                    problem: .wrongType(field: "rules[0].<<", expected: "a mapping or a list of mappings")))
    }
}
