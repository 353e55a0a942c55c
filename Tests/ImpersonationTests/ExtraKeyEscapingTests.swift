import HTTPTypes
import Impersonation
import Testing

@Suite struct ExtraKeyEscapingTests {
    @Test(arguments: [
        ("foo", "foo"),
        ("foo/bar", "foo%2Fbar"),
        ("a%b", "a%25b"),
        ("%", "%25"),
        ("%2F", "%252F"),
        ("ünïcode", "%C3%BCn%C3%AFcode"),
        ("with space", "with%20space"),
        ("€", "%E2%82%AC"),
        ("😀", "%F0%9F%98%80"),
        ("example.com/scopes", "example.com%2Fscopes"),
        ("Remote-Client-Ip", "Remote-Client-Ip"),
        ("!#$&'*+-.^_`|~", "!#$&'*+-.^_`|~"),
        ("AZaz09", "AZaz09"),
        ("\"(),/:;<=>?@[\\]{}", "%22%28%29%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%7B%7D"),
        ("\t\n\r\0", "%09%0A%0D%00"),
        ("\u{7F}", "%7F"),
        ("", ""),
    ])
    func extraKeyIsPercentEscapedLikeClientGo(key: String, escaped: String) {
        #expect(ExtraKeyEscaping.escape(key) == escaped)
    }

    @Test func everyByteIsEscapedExactlyWhenItIsNotATokenCharacter() {
        let tokenCharacters = Set("!#$&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for byte in UInt8(0)...UInt8(0x7F) {
            let key = String(decoding: [byte], as: UTF8.self)
            let expected = tokenCharacters.contains(byte) ? key : "%" + hex(byte)
            #expect(ExtraKeyEscaping.escape(key) == expected, "byte \(byte)")
        }
    }

    @Test(arguments: ["foo/bar", "a%b", "ünïcode key", "\"quoted\"", "tab\there", "😀/%/é"])
    func escapedKeyUnescapesToTheOriginal(key: String) {
        #expect(percentDecode(ExtraKeyEscaping.escape(key)) == key)
    }

    @Test(arguments: ["foo/bar", "a%b", "ünïcode key", "", "\0", "a\r\nb"])
    func anyKeyMakesAValidFieldName(key: String) {
        let name = HTTPField.Name.impersonateExtra(key: key)
        #expect(HTTPField.Name(name.rawName) != nil)
        #expect(name.rawName == "Impersonate-Extra-" + ExtraKeyEscaping.escape(key))
        #expect(name.isImpersonation)
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }

    private func percentDecode(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next() {
                bytes.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
