import HTTPTypes

/// The impersonation step of the request chain: from a verified user and the client's fields to
/// the fields sent to the API server, or a refusal.
public struct ImpersonationFilter: Sendable, Hashable {
    /// The key of the extra value added by `--extra-user-header-client-ip`.
    public static let clientIPExtraKey = "Remote-Client-Ip"
    public static let allAuthenticatedGroup = "system:authenticated"

    public var options: ImpersonationOptions

    public init(options: ImpersonationOptions = ImpersonationOptions()) {
        self.options = options
    }

    /// Refuses a client's own impersonation request when the proxy impersonates: the API server
    /// would grant it with the proxy's rights, not the user's.
    public static func refuseClientImpersonation(
        in fields: HTTPFields,
        mode: ForwardingMode
    ) throws(ImpersonationRefusal) {
        guard mode == .impersonate else { return }
        if let field = fields.first(where: { $0.name.isImpersonation }) {
            throw .clientImpersonationHeader(field.name)
        }
    }

    /// The fields to forward: the client's, in order, less its credentials, plus
    /// `Impersonate-User`, `Impersonate-Group` and `Impersonate-Extra-*` for `user`.
    ///
    /// - Parameters:
    ///   - clientIP: the TCP peer's address, never a client-supplied `X-Forwarded-For`; used
    ///     only with `--extra-user-header-client-ip`.
    ///   - sentFields: the fields as the client sent them, when `clientFields` are those less
    ///     its hop-by-hop fields: a client impersonation header is refused even when the
    ///     client's `Connection` names it.
    public func forwardedFields(
        for clientFields: HTTPFields,
        sent sentFields: HTTPFields? = nil,
        user: ImpersonatedUser,
        clientIP: String?,
        mode: ForwardingMode
    ) throws(ImpersonationRefusal) -> HTTPFields {
        guard mode == .impersonate else { return clientFields }
        try Self.refuseClientImpersonation(in: sentFields ?? clientFields, mode: mode)
        guard !user.username.isEmpty else { throw .emptyUsername }

        var forwarded = clientFields
        forwarded[.authorization] = nil
        WebSocketBearerProtocol.edit(for: clientFields).apply(to: &forwarded)
        for field in try impersonationFields(for: user, clientIP: clientIP) {
            forwarded.append(field)
        }
        return forwarded
    }

    func impersonationFields(
        for user: ImpersonatedUser,
        clientIP: String?
    ) throws(ImpersonationRefusal) -> [HTTPField] {
        var fields = [try Self.field(.impersonateUser, user.username)]
        for group in user.authenticated.groups {
            fields.append(try Self.field(.impersonateGroup, group))
        }
        for (key, value) in extraValues(for: user, clientIP: clientIP) {
            fields.append(try Self.field(.impersonateExtra(key: key), value))
        }
        return fields
    }

    /// The user's own extra first (keys in byte order, since a dictionary has none), then
    /// `--extra-user-headers`, then the client address.
    func extraValues(for user: ImpersonatedUser, clientIP: String?) -> [(key: String, value: String)] {
        var values: [(key: String, value: String)] = []
        for key in user.extra.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            for value in user.extra[key] ?? [] {
                values.append((key, value))
            }
        }
        for header in options.extraUserHeaders {
            values.append((header.key, header.value))
        }
        if options.includesClientIP, let clientIP {
            values.append((Self.clientIPExtraKey, clientIP))
        }
        return values
    }

    /// `HTTPField` would quietly replace control characters and trim white space, turning the
    /// value into another identity, so such a value is refused instead.
    private static func field(_ name: HTTPField.Name, _ value: String) throws(ImpersonationRefusal) -> HTTPField {
        guard HTTPField.isValidValue(value) else { throw .unrepresentableValue(name) }
        return HTTPField(name: name, value: value)
    }
}
