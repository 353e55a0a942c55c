/// The `objectRef` of an audit event: which object a resource request is about. Absent fields are omitted from
/// the JSON, as the API server omits empty ones.
public struct AuditObjectReference: Codable, Equatable, Hashable, Sendable {
    public var resource: String?
    public var namespace: String?
    public var name: String?
    /// Only known from a decoded request or response object, never from the URL.
    public var uid: String?
    public var apiGroup: String?
    public var apiVersion: String?
    /// Only known from a decoded request or response object, never from the URL.
    public var resourceVersion: String?
    public var subresource: String?

    public init(
        resource: String? = nil,
        namespace: String? = nil,
        name: String? = nil,
        uid: String? = nil,
        apiGroup: String? = nil,
        apiVersion: String? = nil,
        resourceVersion: String? = nil,
        subresource: String? = nil
    ) {
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.apiGroup = apiGroup
        self.apiVersion = apiVersion
        self.resourceVersion = resourceVersion
        self.subresource = subresource
    }
}
