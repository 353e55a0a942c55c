/// A query string split the way Go's `url.ParseQuery` splits it, since the API server reads `watch` and
/// `fieldSelector` through it: pairs separated by `&`, `+` as space, pairs with `;` or a bad escape dropped.
struct QueryParameters: Sendable {
    private var pairs: [(name: String, value: String)] = []

    init(_ query: Substring) {
        guard !query.isEmpty else { return }
        for pair in query.utf8.split(separator: UInt8(ascii: "&")) where !pair.contains(UInt8(ascii: ";")) {
            let separator = pair.firstIndex(of: UInt8(ascii: "="))
            let rawName = Substring(separator.map { pair[..<$0] } ?? pair)
            let rawValue = Substring(separator.map { pair[pair.index(after: $0)...] } ?? pair[pair.endIndex...])
            guard let name = PercentDecoding.decode(rawName, plusAsSpace: true),
                let value = PercentDecoding.decode(rawValue, plusAsSpace: true)
            else { continue }
            pairs.append((name, value))
        }
    }

    /// The first value given for `name`, which is the one the API server uses.
    func first(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }
}

/// `%XX` decoding with Go's strictness: a `%` not followed by two hex digits makes the whole text invalid.
enum PercentDecoding {
    static func decode(_ text: Substring, plusAsSpace: Bool) -> String? {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) })
        else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusAsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
