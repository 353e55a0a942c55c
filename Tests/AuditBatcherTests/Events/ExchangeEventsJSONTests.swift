import AuditBatcher
import Testing

/// One exchange's events written back to back into one buffer read exactly as each event's own
/// serialization, the shared part copied rather than written again.
@Suite struct ExchangeEventsJSONTests {
    /// The stages of one exchange, the last carrying bodies of `objectBytes` each when asked.
    static func exchange(stages: [String], objectBytes: Int = 0) throws -> [AuditEvent] {
        var event = EventFixtures.listPods()
        // Strings that need escaping, in the shared part.
        event.requestURI = "/api/v1/namespaces/default/pods?labelSelector=app%3D\"web\"\\x"
        event.userAgent = "kubectl/v1.32 (linux\tamd64)\n"
        return try stages.enumerated().map { index, name in
            var staged = event
            staged.stage = EventFixtures.stage(name)
            staged.responseStatus = name == "RequestReceived" ? nil : AuditResponseStatus(code: 201)
            if objectBytes > 0, index == stages.count - 1 {
                let body = #"{"data":""# + String(repeating: "x", count: objectBytes) + #""}"#
                staged.requestObject = try RawJSON(validating: Array(body.utf8))
                staged.responseObject = try RawJSON(validating: Array(body.utf8))
            }
            return staged
        }
    }

    static func lent(_ events: [AuditEvent], sized objectBytes: Int = 0) -> [[UInt8]] {
        var json = ExchangeEventsJSON(objectBytes: objectBytes)
        for event in events { json.append(event) }
        #expect(json.count == events.count)
        return json.withEvents { lent in lent.map { Array($0) } }
    }

    @Test(arguments: [
        ["ResponseComplete"], ["RequestReceived", "ResponseComplete"], ["RequestReceived", "Panic"],
        ["RequestReceived", "ResponseStarted", "ResponseComplete", "ResponseComplete"],
    ])
    func eachEventReadsAsItsOwnSerialization(stages: [String]) throws {
        let events = try Self.exchange(stages: stages)
        #expect(Self.lent(events) == events.map { $0.jsonBytes() })
    }

    /// Bodies far past the buffer's first size: it grows while the last event is written, after
    /// the part that event copies from the first.
    @Test func theBufferGrowsUnderTheCopiedPart() throws {
        let events = try Self.exchange(stages: ["RequestReceived", "ResponseComplete"], objectBytes: 40_000)
        #expect(Self.lent(events) == events.map { $0.jsonBytes() })
        // Sized for them up front, the same bytes.
        #expect(Self.lent(events, sized: 80_100) == events.map { $0.jsonBytes() })
    }

    /// A request line so long that the buffer grows while the second event copies it.
    @Test func theBufferGrowsWhileTheSharedPartIsCopied() throws {
        var events = try Self.exchange(stages: ["RequestReceived", "ResponseComplete"])
        let uri = "/api/v1/namespaces/default/pods?labelSelector=" + String(repeating: "tier%3Dweb,", count: 140)
        for index in events.indices { events[index].requestURI = uri }
        #expect(Self.lent(events) == events.map { $0.jsonBytes() })
    }

    @Test func nothingAppendedLendsNothing() {
        let json = ExchangeEventsJSON()
        #expect(json.withEvents { $0.isEmpty })
    }
}
