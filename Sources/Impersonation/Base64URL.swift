/// Decoding of Go's `base64.RawURLEncoding`, the encoding of the WebSocket bearer subprotocol.
enum RawBase64URL {
    /// The decoded bytes, or nil when the text is not unpadded base64url. Like Go's non-strict
    /// decoder, unused trailing bits are ignored; a `=` is refused because the encoding has no padding.
    static func decode(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bitCount = 0
        var sextetCount = 0
        for character in text.utf8 {
            guard let sextet = sextet(of: character) else { return nil }
            accumulator = ((accumulator << 6) | UInt32(sextet)) & 0xFFFF
            bitCount += 6
            sextetCount += 1
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bitCount)))
            }
        }
        // A lone final character carries six bits, too few for a byte: Go reports corrupt input.
        if sextetCount % 4 == 1 { return nil }
        return bytes
    }

    private static func sextet(of character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
