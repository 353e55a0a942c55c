import AuditBatcher
import Testing

@Suite struct AuditTruncationTests {
    private func eventWithBody(_ size: Int) throws -> AuditEvent {
        var event = EventFixtures.listPods()
        event.level = EventFixtures.level("RequestResponse")
        event.responseObject = try RawJSON(validating: Array(("\"" + String(repeating: "x", count: size) + "\"").utf8))
        return event
    }

    @Test func defaultsMatchTheAPIServer() {
        let truncation = AuditTruncation()
        #expect(truncation.maxEventSize == 100 * 1024)
        #expect(truncation.maxBatchSize == 10 * 1024 * 1024)
    }

    @Test func eventWithinTheLimitIsUnchanged() throws {
        let event = try eventWithBody(1000)
        guard case .unchanged(let encoded) = AuditTruncation().apply(to: event) else {
            Issue.record("expected unchanged")
            return
        }
        #expect(encoded == event.jsonBytes())
    }

    @Test func oversizedEventLosesItsObjectsAndIsAnnotated() throws {
        var event = try eventWithBody(200 * 1024)
        event.requestObject = try RawJSON(validating: Array(#"{"a":1}"#.utf8))
        guard case .truncated(let truncated, let encoded) = AuditTruncation().apply(to: event) else {
            Issue.record("expected truncated")
            return
        }
        #expect(truncated.requestObject == nil && truncated.responseObject == nil)
        #expect(truncated.annotations["audit.k8s.io/truncated"] == "true")
        #expect(encoded == truncated.jsonBytes())
        #expect(encoded.count <= 100 * 1024)
        #expect(EventFixtures.json(encoded).contains(#""annotations":{"audit.k8s.io/truncated":"true"}"#))
    }

    /// Upstream measures an event with the newline its encoder ends it with: one exactly as long
    /// as the limit is over it.
    @Test func theLimitCountsTheEncodersNewline() throws {
        let event = try eventWithBody(2000)
        let size = event.jsonBytes().count
        guard case .unchanged = AuditTruncation(maxEventSize: size + 1).apply(to: event) else {
            Issue.record("expected unchanged at the limit")
            return
        }
        guard case .truncated = AuditTruncation(maxEventSize: size).apply(to: event) else {
            Issue.record("expected truncated one byte under")
            return
        }
    }

    @Test func eventStillTooLargeWithoutObjectsIsDropped() throws {
        var event = try eventWithBody(10)
        event.requestURI = "/api/v1/pods?" + String(repeating: "q", count: 2000)
        let outcome = AuditTruncation(maxEventSize: 1024).apply(to: event)
        guard case .dropped(let size) = outcome else {
            Issue.record("expected dropped")
            return
        }
        #expect(size > 1024)
        #expect(outcome.encoded == nil)
    }

    @Test func oversizedEventWithoutObjectsIsDropped() {
        var event = EventFixtures.listPods()
        event.requestURI = String(repeating: "q", count: 2000)
        guard case .dropped = AuditTruncation(maxEventSize: 1024).apply(to: event) else {
            Issue.record("expected dropped")
            return
        }
    }

    @Test func batchOverTheSizeLimitIsSplitInOrder() {
        let truncation = AuditTruncation(maxEventSize: 10, maxBatchSize: 10)
        #expect(truncation.batchRanges(eventSizes: [4, 4, 4, 4, 3]) == [0..<2, 2..<4, 4..<5])
        // Exactly at the limit still fits.
        #expect(truncation.batchRanges(eventSizes: [4, 4, 4, 4, 2]) == [0..<2, 2..<5])
        #expect(truncation.batchRanges(eventSizes: [5, 5, 10, 1]) == [0..<2, 2..<3, 3..<4])
        #expect(truncation.batchRanges(eventSizes: [3, 3]) == [0..<2])
        #expect(truncation.batchRanges(eventSizes: []) == [])
        #expect(truncation.batchRanges(eventSizes: [11, 1]) == [0..<1, 1..<2])
    }
}
