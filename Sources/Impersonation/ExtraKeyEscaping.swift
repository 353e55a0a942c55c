/// client-go's `headerKeyEscape`: how an extra key becomes the tail of an `Impersonate-Extra-` name.
public enum ExtraKeyEscaping {
    /// Every byte that is not an RFC 7230 `tchar`, and `%` itself (so the API server's
    /// `url.PathUnescape` always succeeds), becomes `%XX` with uppercase hex.
    public static func escape(_ key: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(key.utf8.count)
        for byte in key.utf8 {
            if isTokenCharacter(byte) && byte != UInt8(ascii: "%") {
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                escaped += "%" + hexDigit(byte >> 4) + hexDigit(byte & 0x0F)
            }
        }
        return escaped
    }

    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> String {
        String(nibble, radix: 16, uppercase: true)
    }
}
