import AuditBatcher
import Testing

/// `omitManagedFields`: recorded bodies lose `metadata.managedFields`, as the API server's do.
@Suite struct RawJSONManagedFieldsTests {
    static func json(_ text: String) -> RawJSON { RawJSON(trustedBytes: Array(text.utf8)) }

    @Test func aBodyWithoutManagedFieldsIsKeptByteForByte() {
        let body = Self.json(#"{"metadata":{"name":"p"},"kind":"Pod"}"#)
        #expect(body.withoutManagedFields() == body)
    }

    @Test func anObjectsListsAndTablesLoseThem() {
        #expect(
            Self.json(#"{"kind":"Pod","metadata":{"managedFields":[{"manager":"kubectl"}],"name":"p"}}"#)
                .withoutManagedFields() == Self.json(#"{"kind":"Pod","metadata":{"name":"p"}}"#))
        #expect(
            Self.json(#"{"kind":"PodList","items":[{"metadata":{"managedFields":[],"name":"a"}}]}"#)
                .withoutManagedFields() == Self.json(#"{"items":[{"metadata":{"name":"a"}}],"kind":"PodList"}"#))
        #expect(
            Self.json(#"{"kind":"Table","rows":[{"cells":[1],"object":{"metadata":{"managedFields":[]}}}]}"#)
                .withoutManagedFields()
                == Self.json(#"{"kind":"Table","rows":[{"cells":[1],"object":{"metadata":{}}}]}"#))
    }

    @Test func aManagedFieldsKeyElsewhereIsLeftAlone() {
        let body = Self.json(#"{"data":{"managedFields":"a value"},"kind":"ConfigMap"}"#)
        #expect(body.withoutManagedFields() == body)
    }
}
