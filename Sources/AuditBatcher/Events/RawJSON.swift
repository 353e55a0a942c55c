import Foundation

/// A JSON value kept as its encoded bytes, like the API server's `runtime.Unknown`: a request or
/// response body is spliced into the audit event verbatim instead of being decoded and re-encoded.
public struct RawJSON: Sendable, Hashable, Codable {
    /// Compact JSON: no line breaks, so an event stays one line in a JSON-lines log.
    public let bytes: [UInt8]

    public enum ValidationError: Error, Equatable {
        case notJSON
    }

    /// Checks that `bytes` hold one JSON value and compacts it as Go's `encoding/json` does when
    /// it embeds a raw value in the API server's events (``compactingAsGo(_:)``).
    public init(validating bytes: some Collection<UInt8>) throws {
        let compact = Self.compactingAsGo(bytes)
        do {
            _ = try JSONDecoder().decode(Value.self, from: Data(compact))
        } catch {
            throw ValidationError.notJSON
        }
        self.bytes = compact
    }

    /// `json` as the API server writes an embedded object (`runtime.Unknown` through Go's
    /// `encoding/json`): whitespace between tokens removed, and inside strings `<` `>` `&` written
    /// `\u003c` `\u003e` `\u0026` and U+2028, U+2029 written `\u2028`, `\u2029` (its HTML-safe
    /// escaping). Everything else, escapes included, is kept as it is. Meant for valid JSON; on
    /// other bytes it only tracks strings by their quotes.
    static func compactingAsGo(_ json: some Collection<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(json.count)
        var inString = false
        var escaped = false
        // A pending E2 80 inside a string: the start of U+2028 or U+2029, or of another character.
        var pending: [UInt8] = []
        for byte in json {
            if !pending.isEmpty {
                pending.append(byte)
                if pending.count == 2 && byte == 0x80 { continue }
                if pending.count == 3 && (byte == 0xA8 || byte == 0xA9) {
                    output.append(contentsOf: (byte == 0xA8 ? "\\u2028" : "\\u2029").utf8)
                    pending.removeAll()
                    continue
                }
                // Not one of the two: the bytes so far go out as they came, the last one decided below.
                output.append(contentsOf: pending.dropLast())
                pending.removeAll()
            }
            guard inString else {
                switch byte {
                case 0x20, 0x09, 0x0A, 0x0D: continue
                case UInt8(ascii: "\""): inString = true
                default: break
                }
                output.append(byte)
                continue
            }
            if escaped {
                escaped = false
                output.append(byte)
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "\""): inString = false
            case UInt8(ascii: "<"):
                output.append(contentsOf: "\\u003c".utf8)
                continue
            case UInt8(ascii: ">"):
                output.append(contentsOf: "\\u003e".utf8)
                continue
            case UInt8(ascii: "&"):
                output.append(contentsOf: "\\u0026".utf8)
                continue
            case 0xE2:
                pending = [byte]
                continue
            default: break
            }
            output.append(byte)
        }
        output.append(contentsOf: pending)
        return output
    }

    /// For bytes the caller already knows to be compact JSON (written by this module, or read back
    /// from the spool); nothing is checked.
    public init(trustedBytes: [UInt8]) {
        self.bytes = trustedBytes
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public init(from decoder: any Decoder) throws {
        // A `Decoder` hands out values, not source text, so the value is re-serialized (compact,
        // object keys sorted). Only the hand-written serializer splices bytes verbatim.
        let value = try Value(from: decoder)
        var writer = AuditJSONWriter(capacity: 256)
        value.write(to: &writer)
        self.bytes = writer.bytes
    }

    public func encode(to encoder: any Encoder) throws {
        let value = try JSONDecoder().decode(Value.self, from: Data(bytes))
        try value.encode(to: encoder)
    }
}

extension RawJSON {
    /// A decoded JSON value, only used to validate and to pass through `Codable`.
    enum Value: Codable, Equatable {
        case null
        case bool(Bool)
        case integer(Int64)
        case unsigned(UInt64)
        case double(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            if let container = try? decoder.container(keyedBy: Key.self) {
                var object: [String: Value] = [:]
                for key in container.allKeys {
                    object[key.stringValue] = try container.decode(Value.self, forKey: key)
                }
                self = .object(object)
            } else if var container = try? decoder.unkeyedContainer() {
                var array: [Value] = []
                while !container.isAtEnd {
                    array.append(try container.decode(Value.self))
                }
                self = .array(array)
            } else {
                let container = try decoder.singleValueContainer()
                if container.decodeNil() {
                    self = .null
                } else if let value = try? container.decode(Bool.self) {
                    self = .bool(value)
                } else if let value = try? container.decode(Int64.self) {
                    self = .integer(value)
                } else if let value = try? container.decode(UInt64.self) {
                    self = .unsigned(value)
                } else if let value = try? container.decode(Double.self) {
                    self = .double(value)
                } else {
                    self = .string(try container.decode(String.self))
                }
            }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .object(let object):
                var container = encoder.container(keyedBy: Key.self)
                for (name, value) in object {
                    try container.encode(value, forKey: Key(stringValue: name))
                }
            case .array(let array):
                var container = encoder.unkeyedContainer()
                for value in array { try container.encode(value) }
            case .null:
                var container = encoder.singleValueContainer()
                try container.encodeNil()
            case .bool(let value):
                var container = encoder.singleValueContainer()
                try container.encode(value)
            case .integer(let value):
                var container = encoder.singleValueContainer()
                try container.encode(value)
            case .unsigned(let value):
                var container = encoder.singleValueContainer()
                try container.encode(value)
            case .double(let value):
                var container = encoder.singleValueContainer()
                try container.encode(value)
            case .string(let value):
                var container = encoder.singleValueContainer()
                try container.encode(value)
            }
        }

        func write(to writer: inout AuditJSONWriter) {
            switch self {
            case .null: writer.raw("null".utf8)
            case .bool(let value): writer.raw((value ? "true" : "false").utf8)
            case .integer(let value): writer.raw(String(value).utf8)
            case .unsigned(let value): writer.raw(String(value).utf8)
            case .double(let value): writer.raw(String(value).utf8)
            case .string(let value): writer.string(value)
            case .array(let array):
                writer.beginArray()
                for element in array { element.write(to: &writer) }
                writer.endArray()
            case .object(let object):
                writer.beginObject()
                for name in object.keys.sorted() {
                    writer.key(dynamic: name)
                    object[name]!.write(to: &writer)
                }
                writer.endObject()
            }
        }
    }
}
