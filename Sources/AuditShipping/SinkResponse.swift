import AuditBatcher
import Foundation

/// Classifies a sink's HTTP answer as the batching state machine needs it; pure, so every
/// status is tested without a network.
public enum SinkResponse {
    /// The most of a server's message body that goes into a log line.
    public static let messageLimit = 512

    /// 2xx is delivered; 401 asks for fresh credentials; 429 and 5xx back off (honouring
    /// `Retry-After`); so does a redirect, which is not followed: it says the URL is wrong (or
    /// moved), and dropping the batch after a few attempts would lose events over a setting.
    /// Any other status is a rejection, resent a bounded number of times. `secrets` are
    /// gathered only for a failure's message (reading them may read a file).
    public static func classify(
        status: Int, retryAfter: String?, body: [UInt8], location: String? = nil, now: Date = Date(),
        redacting secrets: @autoclosure () -> [String] = []
    ) -> SinkAnswer {
        if (200..<300).contains(status) { return .delivered }
        let secrets = secrets()
        let detail = "HTTP \(status): " + message(body, redacting: secrets)
        switch status {
        case 401:
            return .failed(.unauthorized, detail: detail)
        case 300...399:
            let target = location.map { message(Array($0.utf8), redacting: secrets) } ?? "(no Location)"
            return .failed(
                .retryable(retryAfter: nil),
                detail: "HTTP \(status): redirected to \(target), which is not followed: check the sink's URL")
        // 408: the server gave up waiting for the request, which may go through next time.
        case 408, 429, 500...599:
            return .failed(.retryable(retryAfter: retryAfter.flatMap { parseRetryAfter($0, now: now) }), detail: detail)
        default:
            return .failed(.rejected(statusCode: status), detail: detail)
        }
    }

    /// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 section 10.2.3).
    public static func parseRetryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return seconds >= 0 ? .seconds(seconds) : nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        let delay = date.timeIntervalSince(now)
        return .milliseconds(Int64(max(delay, 0) * 1000))
    }

    /// The server's message for a log line: printable, one line, at most ``messageLimit``
    /// characters, with any of `secrets` replaced (a server that echoes a token must not make
    /// us log it).
    public static func message(_ body: [UInt8], redacting secrets: [String] = []) -> String {
        var text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        for secret in secrets where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "[redacted]")
        }
        text = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        if text.isEmpty { return "(no message)" }
        if text.count > messageLimit { return text.prefix(messageLimit) + "…" }
        return text
    }
}
