// Go's `time.Duration` text forms. Flags such as `--audit-webhook-batch-max-wait` are documented and scripted in
// Go syntax, so both directions copy Go's algorithms rather than inventing a Swift notation.

private let nanosecondsPerUnit: [String: UInt64] = [
    "ns": 1,
    "us": 1_000,
    "\u{00B5}s": 1_000,  // micro sign, which Go itself prints
    "\u{03BC}s": 1_000,  // Greek small letter mu, which keyboards tend to produce
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
]

/// Parses Go `time.ParseDuration` syntax: a signed sequence of decimal numbers, each with optional fraction and a
/// unit (`300ms`, `-1.5h`, `2h45m`). A unit is required except for a bare `0`.
///
/// Like Go, the result is limited to what fits in Int64 nanoseconds.
public func parseGoDuration(_ text: String) throws(ValueSyntaxError) -> Duration {
    let invalid = ValueSyntaxError("invalid duration \(goQuote(text))")
    // Go's bound: magnitudes up to 2^63 are representable once the sign is applied.
    let limit: UInt64 = 1 << 63
    var rest = Array(text.utf8)[...]
    var negative = false
    if let sign = rest.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
        negative = sign == UInt8(ascii: "-")
        rest = rest.dropFirst()
    }
    if rest.elementsEqual("0".utf8) { return .zero }
    if rest.isEmpty { throw invalid }

    var total: UInt64 = 0
    while let first = rest.first {
        guard first == dot || isDigit(first) else { throw invalid }

        var whole: UInt64 = 0
        var sawWhole = false
        while let byte = rest.first, isDigit(byte) {
            sawWhole = true
            rest = rest.dropFirst()
            guard whole <= limit / 10 else { throw invalid }
            whole = whole * 10 + UInt64(byte - UInt8(ascii: "0"))
            guard whole <= limit else { throw invalid }
        }

        var fraction: UInt64 = 0
        var scale = 1.0
        var sawFraction = false
        if rest.first == dot {
            rest = rest.dropFirst()
            // Digits beyond what UInt64 holds are below nanosecond precision, so Go ignores them instead of failing.
            var saturated = false
            while let byte = rest.first, isDigit(byte) {
                sawFraction = true
                rest = rest.dropFirst()
                if saturated { continue }
                guard fraction <= (limit - 1) / 10 else {
                    saturated = true
                    continue
                }
                let next = fraction * 10 + UInt64(byte - UInt8(ascii: "0"))
                guard next <= limit else {
                    saturated = true
                    continue
                }
                fraction = next
                scale *= 10
            }
        }
        guard sawWhole || sawFraction else { throw invalid }

        let unitBytes = rest.prefix { $0 != dot && !isDigit($0) }
        guard !unitBytes.isEmpty else { throw ValueSyntaxError("missing unit in duration \(goQuote(text))") }
        rest = rest.dropFirst(unitBytes.count)
        let unitText = String(decoding: unitBytes, as: UTF8.self)
        guard let unit = nanosecondsPerUnit[unitText] else {
            throw ValueSyntaxError("unknown unit \(goQuote(unitText)) in duration \(goQuote(text))")
        }

        guard whole <= limit / unit else { throw invalid }
        var value = whole * unit
        if fraction > 0 {
            // Floating point here is Go's choice too; matching it keeps rounding identical for inputs like `1.1s`.
            value += UInt64(Double(fraction) * (Double(unit) / scale))
            guard value <= limit else { throw invalid }
        }
        let (sum, overflow) = total.addingReportingOverflow(value)
        guard !overflow, sum <= limit else { throw invalid }
        total = sum
    }

    if negative {
        return .nanoseconds(Int64(truncatingIfNeeded: 0 &- total))
    }
    guard total <= UInt64(Int64.max) else { throw invalid }
    return .nanoseconds(Int64(total))
}

/// Go's `Duration.String()`: `0s`, `1.5s`, `50ms`, `10µs`, `1m0s`, `1h30m0s`.
///
/// Sub-nanosecond parts are truncated and durations beyond Go's Int64-nanosecond range are clamped to it,
/// because Go cannot represent either.
public func formatGoDuration(_ duration: Duration) -> String {
    let nanoseconds = int64Nanoseconds(duration)
    var magnitude = nanoseconds.magnitude
    let sign = nanoseconds < 0 ? "-" : ""
    if magnitude == 0 { return "0s" }

    if magnitude < 1_000_000_000 {
        // Below a second Go switches to the largest sub-second unit, keeping a fraction: `1.2ms`.
        let (unit, precision): (String, Int) =
            switch magnitude {
            case ..<1_000: ("ns", 0)
            case ..<1_000_000: ("\u{00B5}s", 3)
            default: ("ms", 6)
            }
        let fraction = fractionDigits(&magnitude, precision: precision)
        return sign + String(magnitude) + fraction + unit
    }

    let fraction = fractionDigits(&magnitude, precision: 9)
    var result = String(magnitude % 60) + fraction + "s"
    let minutes = magnitude / 60
    if minutes > 0 {
        result = String(minutes % 60) + "m" + result
        let hours = minutes / 60
        if hours > 0 { result = String(hours) + "h" + result }
    }
    return sign + result
}

/// Splits off the lowest `precision` decimal digits of `value` as `.ddd` without trailing zeros (empty if all zero).
private func fractionDigits(_ value: inout UInt64, precision: Int) -> String {
    var digits: [Character] = []
    var printing = false
    for _ in 0..<precision {
        let digit = value % 10
        value /= 10
        printing = printing || digit != 0
        if printing { digits.append(Character(String(digit))) }
    }
    return digits.isEmpty ? "" : "." + String(digits.reversed())
}

func int64Nanoseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    let (total, overflowAgain) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
    if overflow || overflowAgain { return seconds < 0 ? .min : .max }
    return total
}

private let dot = UInt8(ascii: ".")

private func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
}
