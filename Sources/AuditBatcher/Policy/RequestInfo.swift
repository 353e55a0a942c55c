/// What a request is about, derived from its method, path and query exactly as the Kubernetes API server's
/// `RequestInfoFactory` derives it (API prefixes `api` and `apis`, `api` without groups). Empty strings mean
/// "not applicable", as in Kubernetes.
public struct RequestInfo: Equatable, Hashable, Sendable {
    /// Whether the request is for an API resource (or subresource) rather than a plain URL like `/version`.
    public var isResourceRequest: Bool
    /// The decoded URL path.
    public var path: String
    /// For resource requests the Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`, `proxy`); otherwise the lowercased HTTP method.
    public var verb: String
    public var apiPrefix: String
    public var apiGroup: String
    public var apiVersion: String
    /// The namespace; for a namespace object itself (`/api/v1/namespaces/NAME`), its name.
    public var namespace: String
    public var resource: String
    public var subresource: String
    public var name: String
    /// The path segments from the resource on: `resource/name/subresource/more...`.
    public var parts: [String]

    public init(
        isResourceRequest: Bool,
        path: String,
        verb: String,
        apiPrefix: String = "",
        apiGroup: String = "",
        apiVersion: String = "",
        namespace: String = "",
        resource: String = "",
        subresource: String = "",
        name: String = "",
        parts: [String] = []
    ) {
        self.isResourceRequest = isResourceRequest
        self.path = path
        self.verb = verb
        self.apiPrefix = apiPrefix
        self.apiGroup = apiGroup
        self.apiVersion = apiVersion
        self.namespace = namespace
        self.resource = resource
        self.subresource = subresource
        self.name = name
        self.parts = parts
    }

    /// Derives the request info from an HTTP request line's method and request target (`/api/v1/pods?watch=1`).
    public init(method: String, requestTarget: String) {
        // Byte searches throughout: the audit step runs this for every request, and Character
        // iteration (grapheme breaking) cost several times the whole derivation.
        let withoutAuthority = Self.originForm(of: requestTarget)
        if let questionMark = withoutAuthority.utf8.firstIndex(of: UInt8(ascii: "?")) {
            self.init(
                method: method,
                path: withoutAuthority[..<questionMark],
                query: withoutAuthority[withoutAuthority.utf8.index(after: questionMark)...]
            )
        } else {
            self.init(method: method, path: withoutAuthority, query: "")
        }
    }

    /// Derives the request info from the method, the raw (still percent-encoded) path and the raw query.
    public init(method: String, path rawPath: Substring, query: Substring) {
        // Go hands the API server the decoded path; a path with a bad escape never reaches it, keep it as sent.
        let path = PercentDecoding.decode(rawPath, plusAsSpace: false) ?? String(rawPath)
        self.init(isResourceRequest: false, path: path, verb: Self.lowercased(method: method))
        derive(method: method, query: query)
    }

    /// The event's `objectRef`; nil for non-resource requests, which have none.
    public var objectReference: AuditObjectReference? {
        guard isResourceRequest else { return nil }
        func nonEmpty(_ value: String) -> String? { value.isEmpty ? nil : value }
        return AuditObjectReference(
            resource: nonEmpty(resource),
            namespace: nonEmpty(namespace),
            name: nonEmpty(name),
            apiGroup: nonEmpty(apiGroup),
            apiVersion: nonEmpty(apiVersion),
            subresource: nonEmpty(subresource)
        )
    }

    // MARK: - Derivation

    /// Fills in the resource fields, leaving the non-resource defaults for paths that are not API resources.
    private mutating func derive(method: String, query: Substring) {
        var path = self.path
        path.withUTF8 { deriveResource(from: $0, method: method) }
        guard isResourceRequest, !parts.isEmpty else { return }
        if parts.count >= 3 && verb != "proxy" { subresource = parts[2] }
        if parts.count >= 2 { name = parts[1] }
        resource = parts[0]

        if name.isEmpty && verb == "get" {
            narrowCollectionRead(QueryParameters(query))
        }
        if name.isEmpty && verb == "delete" {
            verb = "deletecollection"
        }
    }

    /// The path's API prefix, group, version, verb, namespace and parts, read from its bytes
    /// (segments compared and copied out as byte ranges: as `Substring`s they cost more than
    /// the rest of the derivation).
    private mutating func deriveResource(from path: UnsafeBufferPointer<UInt8>, method: String) {
        // Go splits the path with every leading and trailing slash trimmed, keeping empty inner segments.
        let slash = UInt8(ascii: "/")
        let start = path.firstIndex { $0 != slash } ?? path.count
        let end = (path.lastIndex { $0 != slash } ?? -1) + 1
        guard start < end else { return }
        var segments: [Range<Int>] = []
        segments.reserveCapacity(8)
        var segmentStart = start
        for index in start..<end where path[index] == slash {
            segments.append(segmentStart..<index)
            segmentStart = index + 1
        }
        segments.append(segmentStart..<end)
        func text(_ range: Range<Int>) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: path[range]), as: UTF8.self)
        }
        func segment(_ index: Int, is literal: StaticString) -> Bool {
            let range = segments[index]
            return range.count == literal.utf8CodeUnitCount
                && literal.withUTF8Buffer { path[range].elementsEqual($0) }
        }

        guard segments.count >= 3, segment(0, is: "api") || segment(0, is: "apis") else { return }
        var next = 1
        apiPrefix = segment(0, is: "apis") ? "apis" : "api"
        if apiPrefix == "apis" {
            // `/apis/GROUP/VERSION` with nothing after it is discovery, not a resource.
            guard segments.count >= 4 else { return }
            apiGroup = text(segments[1])
            next = 2
        }
        isResourceRequest = true
        apiVersion = text(segments[next])
        next += 1

        // Verbs that may stand in the path before the resource (`/api/v1/watch/pods`).
        if segment(next, is: "proxy") || segment(next, is: "watch") {
            // The API server rejects `/api/v1/watch` alone; keep what is known so far.
            guard segments.count - next >= 2 else { return }
            verb = text(segments[next])
            next += 1
        } else {
            verb = Self.kubernetesVerb(forMethod: method)
        }

        if segment(next, is: "namespaces"), segments.count - next > 1 {
            namespace = text(segments[next + 1])
            // A namespace's own subresources (`namespaces/NAME/status`, `/finalize`) keep it the resource.
            if segments.count - next > 2 && !segment(next + 2, is: "status") && !segment(next + 2, is: "finalize") {
                next += 2
            }
        }
        parts = segments[next...].map(text)
    }

    /// A GET on a collection is a `list` or a `watch`, possibly narrowed to one name by a field selector.
    private mutating func narrowCollectionRead(_ query: QueryParameters) {
        // Kubernetes reads any value but `0` and `false` (any case) as true, including an empty one.
        let watch = query.first("watch").map { $0 != "0" && !Self.isFalse($0) } ?? false
        verb = watch ? "watch" : "list"
        // The API server takes the name only when all list options decode; the integer ones can fail.
        for integerOption in ["limit", "timeoutSeconds"] {
            if let value = query.first(integerOption), Int64(value) == nil { return }
        }
        if let labels = query.first("labelSelector"), !LabelSelector.isValid(labels) { return }
        guard let selector = query.first("fieldSelector"),
            let selected = try? FieldSelector.requiredValue(of: "metadata.name", in: selector),
            Self.isValidPathSegmentName(selected)
        else { return }
        name = selected
    }

    /// Go's `strings.EqualFold(value, "false")`: ASCII case aside, `ſ` (U+017F) folds to `s`.
    private static func isFalse(_ value: String) -> Bool {
        let folded = value.unicodeScalars.map { $0 == "\u{17F}" ? "s" : $0 }
        return folded.count == 5 && String(String.UnicodeScalarView(folded)).lowercased() == "false"
            && folded.allSatisfy { $0.isASCII }
    }

    /// The non-resource verb: the method in lower case, without allocating for the usual ones.
    private static func lowercased(method: String) -> String {
        switch method {
        case "GET": "get"
        case "POST": "post"
        case "PUT": "put"
        case "PATCH": "patch"
        case "DELETE": "delete"
        case "HEAD": "head"
        case "OPTIONS": "options"
        default: method.lowercased()
        }
    }

    private static func kubernetesVerb(forMethod method: String) -> String {
        switch method {
        case "POST": "create"
        case "GET", "HEAD": "get"
        case "PUT": "update"
        case "PATCH": "patch"
        case "DELETE": "delete"
        default: ""
        }
    }

    /// A name that could stand as one path segment, the condition Kubernetes puts on a field-selected name.
    private static func isValidPathSegmentName(_ name: String) -> Bool {
        name != "." && name != ".."
            && !name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "%") })
    }

    /// The path-and-query part of an absolute-form target (`https://host/api/v1/pods`); others are returned as is.
    private static func originForm(of target: String) -> Substring {
        let target = Substring(target)
        let utf8 = target.utf8
        // Origin form, by far the usual case, starts with the path.
        guard utf8.first != UInt8(ascii: "/"), let colon = utf8.firstIndex(of: UInt8(ascii: ":")),
            utf8[colon...].starts(with: "://".utf8), !utf8[..<colon].contains(UInt8(ascii: "/"))
        else {
            return target
        }
        let authorityAndRest = utf8[utf8.index(colon, offsetBy: 3)...]
        guard
            let pathStart = authorityAndRest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") })
        else { return "" }
        return target[pathStart...]
    }
}
