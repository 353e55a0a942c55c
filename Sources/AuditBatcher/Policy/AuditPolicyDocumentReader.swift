import Yams

/// Turns policy text into an `AuditPolicy`, validating it as the API server does and keeping the line of each
/// node so that an error points at the offending line.
///
/// It walks Yams' node tree instead of using `Decodable` because only the nodes carry line numbers. Unknown fields
/// are ignored, as the API server's (non-strict) policy decoder ignores them. Scalars are read as the API server's
/// go-yaml v2 reads them (`GoYAMLScalar`), not by Yams' own rules.
struct AuditPolicyDocumentReader {
    /// Names the source in errors.
    let file: String

    /// Yams' tag for a plain scalar without a tag, given so that a resolved key (Yams resolves keys to check for
    /// duplicates) still reads as untagged rather than as one of Yams' own guesses.
    private static let plainTag = Tag.Name(rawValue: "!kube-oidc-proxy-plain")
    private static let resolver = try! Resolver.basic.appending(plainTag, "^")

    private static let apiVersions: Set<String> = ["audit.k8s.io/v1", "audit.k8s.io/v1beta1"]

    func read(_ text: String) throws(AuditPolicyError) -> AuditPolicy {
        guard let root = try compose(text) else { throw failure(at: nil, .empty) }
        let document = try fields(of: root, named: "the policy")
        try checkTypeHeader(document, root: root)

        let ruleNodes = try items(document["rules"], named: "rules")
        var rules: [AuditPolicyRule] = []
        for (index, node) in ruleNodes.enumerated() {
            rules.append(try rule(node, named: "rules[\(index)]"))
        }
        guard !rules.isEmpty else { throw failure(at: document["rules"] ?? root, .noRules) }
        return AuditPolicy(
            rules: rules,
            omitStages: try stages(document["omitStages"], named: "omitStages"),
            omitManagedFields: try bool(document["omitManagedFields"], named: "omitManagedFields") ?? false
        )
    }

    // MARK: - Structure

    /// The first document's root, nil without one. As in the API server's YAML decoder (go-yaml v2), any further
    /// documents are ignored, not even parsed.
    private func compose(_ text: String) throws(AuditPolicyError) -> Node? {
        do {
            return try Parser(yaml: text, resolver: Self.resolver).nextRoot()
        } catch let error as YamlError {
            throw yamlFailure(error)
        } catch {
            throw failure(at: nil, .malformedYAML(String(describing: error)))
        }
    }

    /// `apiVersion` and `kind` as the API server's decoder reads them: with Go's `encoding/json`,
    /// whose keys match in any case (`APIVersion`, `Kind`), and a missing `kind` taken to be the
    /// `Policy` the file is decoded into. (Every other field's name is matched exactly.)
    private func checkTypeHeader(_ document: [String: Node], root: Node) throws(AuditPolicyError) {
        let versionNode = Self.headerField(document, "apiVersion")
        guard let version = try string(versionNode, named: "apiVersion"), !version.isEmpty else {
            throw failure(at: root, .missingField("apiVersion"))
        }
        guard Self.apiVersions.contains(version) else {
            throw failure(at: versionNode, .unsupportedAPIVersion(version))
        }
        let kindNode = Self.headerField(document, "kind")
        guard let kind = try string(kindNode, named: "kind"), !kind.isEmpty else { return }
        guard kind == "Policy" else { throw failure(at: kindNode, .wrongKind(kind)) }
    }

    /// The field named exactly `name`, else one named so in another case.
    private static func headerField(_ document: [String: Node], _ name: String) -> Node? {
        if let exact = document[name] { return exact }
        let folded = name.lowercased()
        return document.first { key, _ in key.lowercased() == folded }?.value
    }

    private func rule(_ node: Node, named name: String) throws(AuditPolicyError) -> AuditPolicyRule {
        let ruleFields = try fields(of: node, named: name)
        guard let levelText = try string(ruleFields["level"], named: "\(name).level"), !levelText.isEmpty else {
            throw failure(at: node, .missingField("\(name).level"))
        }
        guard let level = AuditLevel(rawValue: levelText) else {
            throw failure(at: ruleFields["level"], .unknownLevel(levelText))
        }

        let nonResourceURLs = try strings(ruleFields["nonResourceURLs"], named: "\(name).nonResourceURLs")
        try validate(nonResourceURLs: nonResourceURLs, node: ruleFields["nonResourceURLs"])

        var resources: [AuditGroupResources] = []
        for (index, entry) in try items(ruleFields["resources"], named: "\(name).resources").enumerated() {
            resources.append(try groupResources(entry, named: "\(name).resources[\(index)]"))
        }

        let rule = AuditPolicyRule(
            level: level,
            users: try strings(ruleFields["users"], named: "\(name).users"),
            userGroups: try strings(ruleFields["userGroups"], named: "\(name).userGroups"),
            verbs: try strings(ruleFields["verbs"], named: "\(name).verbs"),
            resources: resources,
            namespaces: try strings(ruleFields["namespaces"], named: "\(name).namespaces"),
            nonResourceURLs: nonResourceURLs,
            omitStages: try stages(ruleFields["omitStages"], named: "\(name).omitStages"),
            omitManagedFields: try bool(ruleFields["omitManagedFields"], named: "\(name).omitManagedFields")
        )
        if !rule.nonResourceURLs.isEmpty && (!rule.resources.isEmpty || !rule.namespaces.isEmpty) {
            throw failure(at: node, .resourcesAndNonResourceURLs)
        }
        return rule
    }

    private func groupResources(_ node: Node, named name: String) throws(AuditPolicyError) -> AuditGroupResources {
        // A null item (`- ` alone) decodes in Go to the empty entry: every resource of the core group.
        if try isNull(node) { return AuditGroupResources(group: "", resources: [], resourceNames: []) }
        let entryFields = try fields(of: node, named: name)
        let group = try string(entryFields["group"], named: "\(name).group") ?? ""
        if !group.isEmpty && !DNSSubdomain.isValid(group) {
            throw failure(at: entryFields["group"], .invalidGroup(group))
        }
        let entry = AuditGroupResources(
            group: group,
            resources: try strings(entryFields["resources"], named: "\(name).resources"),
            resourceNames: try strings(entryFields["resourceNames"], named: "\(name).resourceNames")
        )
        if !entry.resourceNames.isEmpty && entry.resources.isEmpty {
            throw failure(at: entryFields["resourceNames"], .resourceNamesWithoutResources)
        }
        return entry
    }

    private func validate(nonResourceURLs: [String], node: Node?) throws(AuditPolicyError) {
        // On bytes, as Kubernetes checks: a `*` followed by a combining mark is not the last character.
        for url in nonResourceURLs where !url.goEquals("*") {
            if !url.goHasPrefix("/") {
                throw failure(at: node, .invalidNonResourceURL(url, reason: "must begin with \"/\""))
            }
            if url.utf8.dropLast().contains(UInt8(ascii: "*")) {
                throw failure(
                    at: node, .invalidNonResourceURL(url, reason: "may have \"*\" only as its last character"))
            }
        }
    }

    private func stages(_ node: Node?, named name: String) throws(AuditPolicyError) -> [AuditStage] {
        var stages: [AuditStage] = []
        for item in try items(node, named: name) {
            let text = try string(item, named: name) ?? ""
            guard let stage = AuditStage(rawValue: text) else { throw failure(at: item, .unknownStage(text)) }
            stages.append(stage)
        }
        return stages
    }

    // MARK: - Typed access to nodes

    private func fields(of node: Node, named name: String) throws(AuditPolicyError) -> [String: Node] {
        guard case .mapping(let mapping) = node else {
            throw failure(at: node, .wrongType(field: name, expected: "a mapping"))
        }
        var result: [String: Node] = [:]
        try write(mapping, named: name, into: &result)
        return result
    }

    /// Writes the mapping's fields into `result` in order, a later write replacing an earlier one, as go-yaml v2
    /// fills a map. A merge key (`<<`) writes the merged mappings' fields where it stands, so a field after it
    /// wins over a merged one and a merged one wins over a field before it.
    private func write(_ mapping: Node.Mapping, named name: String, into result: inout [String: Node])
        throws(AuditPolicyError)
    {
        for (key, value) in mapping {
            guard case .scalar(let keyScalar) = key else {
                throw failure(at: key, .wrongType(field: "a key in \(name)", expected: "a string, number or boolean"))
            }
            let scalar = goScalar(keyScalar)
            if scalar.isMergeKey {
                try merge(value, at: key, named: name, into: &result)
                continue
            }
            // Boolean and number keys become their text in JSON; none of them names a field we read.
            switch try resolve(scalar, at: key) {
            case .string(let text): result[text] = value
            case .bool, .integer, .float: continue
            case .null:
                throw failure(at: key, .wrongType(field: "a key in \(name)", expected: "a string, number or boolean"))
            }
        }
    }

    /// go-yaml v2 merges a mapping, or a list of mappings written in place (the earlier ones winning); anything
    /// else, an alias to a list included, is an error.
    private func merge(_ value: Node, at key: Node, named name: String, into result: inout [String: Node])
        throws(AuditPolicyError)
    {
        let refusal = failure(at: key, .wrongType(field: "\(name).<<", expected: "a mapping or a list of mappings"))
        switch value {
        case .mapping(let mapping):
            try write(mapping, named: name, into: &result)
        case .sequence(let sequence) where !Self.isAlias(value, after: key):
            for element in sequence.reversed() {
                guard case .mapping(let mapping) = element else { throw refusal }
                try write(mapping, named: name, into: &result)
            }
        default:
            throw refusal
        }
    }

    /// Yams resolves aliases to the anchored node itself, which starts before the key that refers to it; a value
    /// written in place starts after its key.
    private static func isAlias(_ value: Node, after key: Node) -> Bool {
        guard let valueMark = value.mark, let keyMark = key.mark else { return false }
        return (valueMark.line, valueMark.column) < (keyMark.line, keyMark.column)
    }

    /// A sequence's items; an absent or null field is an empty list, as in Go.
    private func items(_ node: Node?, named name: String) throws(AuditPolicyError) -> [Node] {
        guard let node, try !isNull(node) else { return [] }
        guard case .sequence(let sequence) = node else {
            throw failure(at: node, .wrongType(field: name, expected: "a list"))
        }
        return Array(sequence)
    }

    private func strings(_ node: Node?, named name: String) throws(AuditPolicyError) -> [String] {
        var result: [String] = []
        for item in try items(node, named: name) {
            result.append(try string(item, named: name) ?? "")
        }
        return result
    }

    /// A scalar's text, nil when absent or null. A plain scalar that go-yaml v2 reads as a boolean or a number is
    /// refused, as the API server refuses it: `namespaces: [no]` needs quotes.
    private func string(_ node: Node?, named name: String) throws(AuditPolicyError) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            throw failure(at: node, .wrongType(field: name, expected: "a string"))
        }
        let goScalar = goScalar(scalar)
        let value = try resolve(goScalar, at: node)
        switch value {
        case .null: return nil
        case .string(let text): return text
        case .bool, .integer, .float:
            throw failure(at: node, .notAString(field: name, value: goScalar.text, kind: value.kindName))
        }
    }

    /// A boolean in any of go-yaml v2's spellings (`true`, `yes`, `on`, `y`, ...), nil when absent or null.
    private func bool(_ node: Node?, named name: String) throws(AuditPolicyError) -> Bool? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            throw failure(at: node, .wrongType(field: name, expected: "true or false"))
        }
        switch try resolve(goScalar(scalar), at: node) {
        case .null: return nil
        case .bool(let value): return value
        case .string, .integer, .float:
            throw failure(at: node, .wrongType(field: name, expected: "true or false"))
        }
    }

    private func isNull(_ node: Node) throws(AuditPolicyError) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return try resolve(goScalar(scalar), at: node) == .null
    }

    /// The scalar as go-yaml sees it: untagged plain scalars have no tag; quoted and block ones have `!!str`.
    private func goScalar(_ scalar: Node.Scalar) -> GoYAMLScalar {
        let tag = scalar.tag.description
        let untagged = tag.isEmpty || tag == Self.plainTag.rawValue
        return GoYAMLScalar(scalar.string, tag: untagged ? nil : tag)
    }

    private func resolve(_ scalar: GoYAMLScalar, at node: Node) throws(AuditPolicyError) -> GoYAMLScalar.Value {
        do {
            return try scalar.resolve()
        } catch {
            throw failure(at: node, .malformedYAML(error.reason))
        }
    }

    // MARK: - Errors

    private func failure(at node: Node?, _ problem: AuditPolicyProblem) -> AuditPolicyError {
        .invalid(file: file, line: node?.mark?.line, problem: problem)
    }

    private func yamlFailure(_ error: YamlError) -> AuditPolicyError {
        let line: Int?
        let detail: String
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            line = mark.line
            detail = [problem, context?.text].compactMap { $0 }.joined(separator: " ")
        case .duplicatedKeysInMapping(let duplicates, let context):
            line = context.mark.line
            detail = "duplicate key " + duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
        case .reader(let problem, _, _, _):
            line = nil
            detail = problem
        default:
            line = nil
            detail = String(describing: error)
        }
        // The description promises one line, whatever the parser said.
        let oneLine = detail.split(whereSeparator: \.isNewline).joined(separator: " ")
        return .invalid(file: file, line: line, problem: .malformedYAML(oneLine))
    }
}
