import Foundation

/// Times and spans as an operator reads them. Pure.
public enum TimeWording {
    /// `2025-06-01 12:00:00 UTC`.
    public static func utc(_ date: Date) -> String {
        let iso = date.formatted(.iso8601)  // 2025-06-01T12:00:00Z, always in UTC
        return iso.replacing("T", with: " ").replacing("Z", with: " UTC")
    }

    /// A span in its two largest units: `45s`, `12m30s`, `3h12m`, `2d4h`. Negative spans count as positive.
    public static func span(_ interval: TimeInterval) -> String {
        let total = Int64(abs(interval).rounded(.down))
        let (days, hours, minutes, seconds) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
        func pair(_ first: Int64, _ firstUnit: String, _ second: Int64, _ secondUnit: String) -> String {
            second == 0 ? "\(first)\(firstUnit)" : "\(first)\(firstUnit)\(second)\(secondUnit)"
        }
        if days > 0 { return pair(days, "d", hours, "h") }
        if hours > 0 { return pair(hours, "h", minutes, "m") }
        if minutes > 0 { return pair(minutes, "m", seconds, "s") }
        return "\(seconds)s"
    }
}
