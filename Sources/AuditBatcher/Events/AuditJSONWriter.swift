/// Appends compact JSON to a byte buffer.
///
/// The audit event is serialized by hand rather than through `JSONEncoder` because request and
/// response bodies must be emitted verbatim (an `Encoder` cannot splice raw bytes), and because
/// every proxied request pays for this serialization.
///
/// It writes into a buffer of its own through a pointer, not through `Array.append`: an event is
/// about a hundred small appends, and each of an array's carried a uniqueness and a capacity
/// check; that bookkeeping was most of an event's cost. `bytes` copies the result out once.
struct AuditJSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var needsComma = false

    init(capacity: Int = 1024) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// What was written.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// How many bytes were written so far: where the next one goes.
    var written: Int { count }

    /// Lends what was written, without copying it out.
    func withWrittenBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Starts a new top-level value after the previous one, with no separator between them
    /// (several events back to back, each its own record).
    mutating func startValue() {
        needsComma = false
    }

    /// Appends a copy of bytes this writer wrote before (`range` of ``written``), as they are:
    /// a part one event shares with the previous one, separator included. Ends a value.
    mutating func repeatWritten(_ range: Range<Int>) {
        precondition(range.upperBound <= count, "repeating bytes not written")
        reserve(range.count)
        // After `reserve`, which may move the buffer. The copy lands past its source.
        (base + count).update(from: base + range.lowerBound, count: range.count)
        count += range.count
        needsComma = true
    }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    private mutating func grow(_ extra: Int) {
        let larger = max(capacity * 2, count + extra)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    @inline(__always)
    private mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    private mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let source = buffer.baseAddress else { return }
        reserve(buffer.count)
        (base + count).update(from: source, count: buffer.count)
        count += buffer.count
    }

    private mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    mutating func beginObject() {
        separate()
        append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        separate()
        append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes `"key":` for a key known when the program is built (every key of an event's own
    /// fields): copied as is, without the escape scan, as these never need escaping.
    mutating func key(_ name: StaticString) {
        separate()
        name.withUTF8Buffer { name in
            reserve(name.count + 3)
            base[count] = UInt8(ascii: "\"")
            if let source = name.baseAddress { (base + count + 1).update(from: source, count: name.count) }
            base[count + name.count + 1] = UInt8(ascii: "\"")
            base[count + name.count + 2] = UInt8(ascii: ":")
            count += name.count + 3
        }
        needsComma = false
    }

    /// Writes `"key":` for a key that comes from data (annotations, extra, parsed objects).
    mutating func key(dynamic name: String) {
        separate()
        appendQuoted(name)
        append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    mutating func integer(_ value: Int) {
        separate()
        var text = String(value)
        text.withUTF8 { append($0) }
        needsComma = true
    }

    /// Appends `text` as it is: a run of the event's constant keys and punctuation in one copy.
    /// `endsValue`: the text closes a value, so what follows is separated by a comma; else it
    /// leads into one (ends with a key's colon, or inside a string).
    mutating func verbatim(_ text: StaticString, endsValue: Bool = false) {
        append(text)
        needsComma = endsValue
    }

    /// Splices an already valid, compact JSON value in unchanged.
    mutating func raw(_ json: some Collection<UInt8>) {
        separate()
        if json.withContiguousStorageIfAvailable({ append($0) }) == nil {
            reserve(json.count)
            for byte in json { append(byte) }
        }
        needsComma = true
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func stringArray(_ values: some Collection<String>) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// Map keys are sorted, as Go's encoder does, so equal events serialize to equal bytes.
    mutating func stringMap(_ map: [String: String]) {
        beginObject()
        for name in map.keys.sorted() {
            key(dynamic: name)
            string(map[name]!)
        }
        endObject()
    }

    /// A timestamp as the API server writes `MicroTime`: `"2026-11-25T17:00:00.123456Z"`.
    mutating func timestamp(_ value: AuditTimestamp) {
        separate()
        reserve(AuditTimestamp.rfc3339Length + 2)
        base[count] = UInt8(ascii: "\"")
        value.writeRFC3339(
            into: UnsafeMutableBufferPointer(start: base + count + 1, count: AuditTimestamp.rfc3339Length))
        base[count + AuditTimestamp.rfc3339Length + 1] = UInt8(ascii: "\"")
        count += AuditTimestamp.rfc3339Length + 2
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { append(UInt8(ascii: ",")) }
    }

    private mutating func appendQuoted(_ value: String) {
        append(UInt8(ascii: "\""))
        var value = value
        // Native strings are contiguous UTF-8, so this is a scan and one copy, not a per-byte loop.
        value.withUTF8 { utf8 in
            if !utf8.contains(where: Self.needsEscape) {
                append(utf8)
            } else {
                appendEscaped(utf8)
            }
        }
        append(UInt8(ascii: "\""))
    }

    /// Escapes as Go's `encoding/json` does by default, which the API server's encoders use:
    /// `"` and `\` with a backslash; the short forms `\b \f \n \r \t`; other control bytes,
    /// and `<` `>` `&` (its HTML-safe escaping), as `\u00xx`; U+2028 and U+2029 as `\u2028` and
    /// `\u2029`. Strings here are valid UTF-8, so Go's `\ufffd` for invalid bytes never applies.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            index += 1
            guard Self.needsEscape(byte) else {
                append(byte)
                continue
            }
            if byte == 0xE2 {
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9; any other E2 sequence is copied.
                if index + 1 < utf8.count, utf8[index] == 0x80, utf8[index + 1] & 0xFE == 0xA8 {
                    append(utf8[index + 1] == 0xA8 ? "\\u2028" : "\\u2029")
                    index += 2
                } else {
                    append(byte)
                }
                continue
            }
            appendEscape(of: byte)
        }
    }

    /// The escape for one ASCII byte that ``needsEscape(_:)`` picked.
    private mutating func appendEscape(of byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): append("\\\"")
        case UInt8(ascii: "\\"): append("\\\\")
        case 0x08: append("\\b")
        case 0x0C: append("\\f")
        case 0x0A: append("\\n")
        case 0x0D: append("\\r")
        case 0x09: append("\\t")
        default:
            let hex: StaticString = "0123456789abcdef"
            reserve(6)
            append("\\u00")
            hex.withUTF8Buffer { digits in
                append(digits[Int(byte >> 4)])
                append(digits[Int(byte & 0x0F)])
            }
        }
    }

    /// Whether `byte` needs escaping, or (0xE2) may start U+2028 or U+2029.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        // Below 0x40: the control characters, `"`, `&`, `<` and `>`, one bit each.
        let lowEscapes: UInt64 = 0x5000_0044_FFFF_FFFF
        return byte < 0x40 ? lowEscapes >> byte & 1 != 0 : byte == UInt8(ascii: "\\") || byte == 0xE2
    }
}
