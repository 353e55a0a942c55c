/// An IP address parsed as Go's `netutils.ParseIPSloppy` parses (IPv4 octets may carry leading
/// zeros, read as decimal; IPv6 with or without an embedded IPv4 tail; no zone), kept as 16
/// bytes, IPv4 as IPv4-mapped IPv6, as Go keeps it.
package struct IPAddress: Equatable, CustomStringConvertible {
    package var bytes: [UInt8]

    package init?(_ text: String) { self.init(Substring(text)) }

    package init?(_ text: Substring) {
        let utf8 = Array(text.utf8)
        if let v4 = Self.parseIPv4(utf8[...]) {
            bytes = Self.mappedPrefix + v4
        } else if let v6 = Self.parseIPv6(utf8[...]) {
            bytes = v6
        } else {
            return nil
        }
    }

    fileprivate static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]

    private static func parseIPv4(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 8, part.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            let value = part.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard value <= 255 else { return nil }
            result.append(UInt8(value))
        }
        return result
    }

    private static func parseIPv6(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.contains(UInt8(ascii: ":")) else { return nil }
        var groups: [UInt16] = []
        var compressedAt: Int?
        var rest = text
        if rest.starts(with: "::".utf8) {
            compressedAt = 0
            rest = rest.dropFirst(2)
        }
        var tail: [UInt8] = []
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: ":")) ?? rest.endIndex
            let field = rest[rest.startIndex..<end]
            if field.contains(UInt8(ascii: ".")) {
                // An IPv4 tail ends the address.
                guard end == rest.endIndex, let v4 = parseIPv4(field) else { return nil }
                tail = v4
                rest = rest[end...]
                break
            }
            guard !field.isEmpty, field.count <= 4, field.allSatisfy(\.isHexDigit),
                let value = UInt16(String(decoding: field, as: UTF8.self), radix: 16)
            else { return nil }
            groups.append(value)
            rest = rest[end...]
            if rest.starts(with: "::".utf8) {
                guard compressedAt == nil else { return nil }
                compressedAt = groups.count
                rest = rest.dropFirst(2)
            } else if !rest.isEmpty {
                rest = rest.dropFirst()
                // A single colon must be followed by another group.
                guard !rest.isEmpty else { return nil }
            }
        }
        let total = groups.count + tail.count / 2
        var words: [UInt16]
        if let compressedAt {
            guard total < 8 else { return nil }
            words = Array(groups[..<compressedAt]) + Array(repeating: 0, count: 8 - total) + groups[compressedAt...]
        } else {
            guard total == 8 else { return nil }
            words = groups
        }
        var result: [UInt8] = []
        for word in words { result += [UInt8(word >> 8), UInt8(word & 0xFF)] }
        // The IPv4 tail is the last two groups' bytes.
        return result + tail
    }

    /// As Go's `net.IP.String`: IPv4-mapped addresses dotted; others in RFC 5952 form (lowercase
    /// hex, the first longest run of two or more zero groups written `::`).
    package var description: String {
        if bytes.starts(with: Self.mappedPrefix) {
            return bytes[12...].map { String($0) }.joined(separator: ".")
        }
        let words = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            guard words[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && words[end] == 0 { end += 1 }
            if end - index > bestLength && end - index >= 2 {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        var text = ""
        index = 0
        while index < 8 {
            if index == bestStart {
                text += "::"
                index += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(words[index], radix: 16)
            index += 1
        }
        return text
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
