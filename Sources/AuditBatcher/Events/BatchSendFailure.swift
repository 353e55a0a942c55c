/// How a send failed, as the I/O layer classifies the sink's answer.
public enum BatchSendFailure: Sendable, Hashable {
    /// 429, 5xx, a network error or a refused token exchange: back off and resend. `retryAfter`
    /// is the server's `Retry-After`, honoured when longer than the back-off.
    case retryable(retryAfter: Duration?)
    /// A 4xx other than 401/429: the batch is resent with back-off a bounded number of times.
    case rejected(statusCode: Int)
    /// 401: the access token is refreshed and the batch resent at once, the first time in a row.
    case unauthorized
}
