/// Whose credentials a verified request travels upstream with; decided per request, since a
/// token accepted by `--token-passthrough` is forwarded as it came even when the proxy impersonates.
public enum ForwardingMode: Sendable, Hashable {
    /// The normal case: the proxy's credentials and `Impersonate-*` fields naming the user.
    case impersonate
    /// `--disable-impersonation`, or a token accepted by `--token-passthrough`: the request goes
    /// as it came and the API server judges the user's own token, impersonation fields included.
    case userCredentials
}
