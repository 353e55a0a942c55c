import Foundation

extension RawJSON {
    /// The body without `metadata.managedFields` (an object's, each list item's, each `Table`
    /// row object's), as the API server records bodies under a policy's `omitManagedFields`.
    /// Returned as it is when it has none; otherwise re-encoded, object keys sorted.
    public func withoutManagedFields() -> RawJSON {
        guard bytes.firstRange(of: Self.managedFieldsKey) != nil,
            let value = try? JSONDecoder().decode(Value.self, from: Data(bytes))
        else { return self }
        let stripped = value.strippingManagedFields()
        guard stripped != value else { return self }
        var writer = AuditJSONWriter(capacity: bytes.count)
        stripped.write(to: &writer)
        return RawJSON(trustedBytes: writer.bytes)
    }

    private static let managedFieldsKey = Array(#""managedFields""#.utf8)
}

extension RawJSON.Value {
    fileprivate func strippingManagedFields() -> Self {
        guard case .object(var object) = self else { return self }
        if case .object(var metadata)? = object["metadata"], metadata.removeValue(forKey: "managedFields") != nil {
            object["metadata"] = .object(metadata)
        }
        if case .array(let items)? = object["items"] {
            object["items"] = .array(items.map { $0.strippingManagedFields() })
        }
        if object["kind"] == .string("Table"), case .array(let rows)? = object["rows"] {
            object["rows"] = .array(
                rows.map { row in
                    guard case .object(var cells) = row, let inner = cells["object"] else { return row }
                    cells["object"] = inner.strippingManagedFields()
                    return .object(cells)
                })
        }
        return .object(object)
    }
}
