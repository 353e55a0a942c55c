// Renderings that copy Go's `fmt` so help text and errors read exactly like the Go program's.

/// Go's `%q` for a string: double-quoted with escapes, which also keeps any message on one line.
func goQuote(_ text: String) -> String {
    "\"" + escape(text, quote: "\"") + "\""
}

/// Go's `%q` for a rune, e.g. `'x'`.
func goQuote(_ letter: Character) -> String {
    "'" + escape(String(letter), quote: "'") + "'"
}

/// Escapes only what would break a one-line message; for text shown unquoted.
func goEscaped(_ text: String) -> String {
    escape(text, quote: nil)
}

private func escape(_ text: String, quote: Unicode.Scalar?) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\u{07}": result += "\\a"
        case "\u{08}": result += "\\b"
        case "\u{0C}": result += "\\f"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case "\u{0B}": result += "\\v"
        case "\\" where quote != nil: result += "\\\\"
        case _ where scalar == quote: result += "\\" + String(scalar)
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            result += "\\x" + hex(scalar.value, width: 2)
        case _ where (0x80...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029:
            result += "\\u" + hex(scalar.value, width: 4)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}

private func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Go's `strconv.FormatFloat(x, 'g', -1, 64)`, which pflag uses for float defaults: the shortest digits that
/// round-trip, in exponent form when the decimal exponent is below -4 or at least 6 (so `1e+06`, not `1000000`).
func formatGoFloat(_ x: Double) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x < 0 ? "-Inf" : "+Inf" }
    let sign = x.sign == .minus ? "-" : ""
    if x == 0 { return sign + "0" }

    // Swift's description already holds the shortest round-tripping digits; only the layout differs from Go.
    let text = "\(x.magnitude)"
    let parts = text.split(separator: "e", maxSplits: 1)
    let exponent = parts.count == 2 ? Int(parts[1])! : 0
    let mantissa = parts[0].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let integerDigits = mantissa[0]
    let fractionDigits = mantissa.count == 2 ? mantissa[1] : ""
    var digits = Array(integerDigits + fractionDigits)
    // `decimalPoint` counts digits before the point: the value is 0.digits × 10^decimalPoint.
    var decimalPoint = integerDigits.count + exponent
    while digits.first == "0" {
        digits.removeFirst()
        decimalPoint -= 1
    }
    while digits.last == "0" { digits.removeLast() }

    let scientificExponent = decimalPoint - 1
    if scientificExponent < -4 || scientificExponent >= 6 {
        var result = sign + String(digits[0])
        if digits.count > 1 { result += "." + String(digits[1...]) }
        let magnitude = String(abs(scientificExponent))
        return result + "e" + (scientificExponent < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }
    if decimalPoint <= 0 {
        return sign + "0." + String(repeating: "0", count: -decimalPoint) + String(digits)
    }
    if decimalPoint >= digits.count {
        return sign + String(digits) + String(repeating: "0", count: decimalPoint - digits.count)
    }
    return sign + String(digits[..<decimalPoint]) + "." + String(digits[decimalPoint...])
}
