import Foundation

/// A JSON value kept as its encoded bytes, like the API server's `runtime.Unknown`: a request or
/// response body is spliced into the audit event verbatim instead of being decoded and re-encoded.
public struct RawJSON: Sendable, Hashable, Codable {
    /// Compact JSON: no line breaks, so an event stays one line in a JSON-lines log.
    public let bytes: [UInt8]

    public enum ValidationError: Error, Equatable {
        case notJSON
    }

    /// Checks that `bytes` hold one JSON value and drops its line breaks and tabs.
    ///
    /// Removing them is always safe: JSON forbids raw control characters inside strings, so every
    /// one found in valid JSON is insignificant whitespace.
    public init(validating bytes: some Collection<UInt8>) throws {
        let compact = bytes.filter { $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        do {
            _ = try JSONDecoder().decode(Value.self, from: Data(compact))
        } catch {
            throw ValidationError.notJSON
        }
        self.bytes = compact
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
