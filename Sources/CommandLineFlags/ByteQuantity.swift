// Byte counts in Kubernetes resource-quantity notation, because that is how operators already write sizes
// for Kubernetes components (`--max-request-bytes=3Mi`).

private let suffixMultipliers: [(suffix: String, multiplier: UInt64)] = [
    ("Ei", 1 << 60), ("Pi", 1 << 50), ("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10),
    ("E", 1_000_000_000_000_000_000), ("P", 1_000_000_000_000_000), ("T", 1_000_000_000_000),
    ("G", 1_000_000_000), ("M", 1_000_000), ("k", 1_000),
]

/// Parses a non-negative byte count: `1048576`, `256Mi`, `1.5Gi`, `1k`.
///
/// Binary suffixes `Ki`…`Ei` and decimal suffixes `k`, `M`…`E` are accepted as in Kubernetes quantities; a
/// fractional result is rounded up to a whole byte as Kubernetes' `Quantity.Value()` does. Lowercase `m` (milli)
/// and exponents (`1e6`) are rejected: neither makes sense for a byte count and `100m` is more likely a mistake.
public func parseByteQuantity(_ text: String) throws(ValueSyntaxError) -> UInt64 {
    let invalid = ValueSyntaxError("invalid byte quantity \(goQuote(text))")
    var rest = Substring(text)
    if rest.first == "-" { throw ValueSyntaxError("byte quantity \(goQuote(text)) must not be negative") }
    if rest.first == "+" { rest = rest.dropFirst() }

    let wholeDigits = rest.prefix { $0.isASCII && $0.isNumber }
    rest = rest.dropFirst(wholeDigits.count)
    var fractionDigits = Substring()
    if rest.first == "." {
        rest = rest.dropFirst()
        fractionDigits = rest.prefix { $0.isASCII && $0.isNumber }
        rest = rest.dropFirst(fractionDigits.count)
    }
    guard !wholeDigits.isEmpty || !fractionDigits.isEmpty else { throw invalid }

    let suffix = String(rest)
    let multiplier: UInt64
    if suffix.isEmpty {
        multiplier = 1
    } else if let match = suffixMultipliers.first(where: { $0.suffix == suffix }) {
        multiplier = match.multiplier
    } else {
        throw ValueSyntaxError("unknown suffix \(goQuote(suffix)) in byte quantity \(goQuote(text))")
    }

    let overflow = ValueSyntaxError("byte quantity \(goQuote(text)) does not fit in 64 bits")
    guard let whole = wholeDigits.isEmpty ? 0 : UInt64(wholeDigits) else { throw overflow }
    let (scaled, scaledOverflow) = whole.multipliedReportingOverflow(by: multiplier)
    guard !scaledOverflow else { throw overflow }

    while fractionDigits.last == "0" { fractionDigits = fractionDigits.dropLast() }
    guard !fractionDigits.isEmpty else { return scaled }
    // 10^19 is the largest power of ten a UInt64 holds; finer fractions of a byte count are meaningless anyway.
    guard fractionDigits.count <= 19, let numerator = UInt64(fractionDigits) else {
        throw ValueSyntaxError("byte quantity \(goQuote(text)) has too many decimal places")
    }
    var denominator: UInt64 = 1
    for _ in 0..<fractionDigits.count { denominator *= 10 }
    // numerator < denominator, so the quotient is below `multiplier` and cannot overflow.
    let (quotient, remainder) = denominator.dividingFullWidth(numerator.multipliedFullWidth(by: multiplier))
    let fractionBytes = remainder == 0 ? quotient : quotient + 1
    let (total, totalOverflow) = scaled.addingReportingOverflow(fractionBytes)
    guard !totalOverflow else { throw overflow }
    return total
}

/// The shortest exact quantity text for `bytes`, preferring binary suffixes: `256Mi`, `1k`, `1500`.
public func formatByteQuantity(_ bytes: UInt64) -> String {
    guard bytes != 0 else { return "0" }
    for (suffix, multiplier) in suffixMultipliers where bytes % multiplier == 0 {
        return String(bytes / multiplier) + suffix
    }
    return String(bytes)
}
