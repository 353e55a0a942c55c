import Foundation
import Testing

@testable import AuditBatcher

@Suite("Audit event JSON")
struct AuditEventJSONTests {
    @Test func metadataEventIsWrittenWithTheAPIServersKeysAndOrder() {
        let expected =
            #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","#
            + #""auditID":"3f8a7c52-1d2e-4b6f-9a0c-5e7d8f9a0b1c","stage":"ResponseComplete","#
            + #""requestURI":"/api/v1/namespaces/default/pods?limit=500","verb":"list","#
            + #""user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"#
            + #""sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.31.0","#
            + #""objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"#
            + #""responseStatus":{"metadata":{},"code":200},"#
            + #""requestReceivedTimestamp":"2026-11-25T17:00:00.123456Z","#
            + #""stageTimestamp":"2026-11-25T17:00:00.234567Z"}"#
        #expect(EventFixtures.json(EventFixtures.listPods().jsonBytes()) == expected)
    }

    @Test func absentAndEmptyOptionalFieldsAreLeftOut() {
        var event = EventFixtures.listPods()
        event.user = AuditUserInfo(username: "")
        event.sourceIPs = []
        event.userAgent = ""
        event.objectRef = nil
        event.responseStatus = nil
        let json = EventFixtures.json(event.jsonBytes())
        #expect(json.contains(#""user":{},"#))
        for key in ["impersonatedUser", "sourceIPs", "userAgent", "objectRef", "responseStatus", "requestObject"] {
            #expect(!json.contains("\"\(key)\""), "\(key) should be absent")
        }
        #expect(!json.contains("responseObject") && !json.contains("annotations"))
    }

    /// An exchange's events share their stage-independent bytes: encoded that way, every stage
    /// is byte for byte what encoding it alone gives, with or without the optional fields.
    @Test(arguments: [false, true])
    func stagesSharingTheirStageIndependentBytesEncodeAsAlone(sparse: Bool) throws {
        var received = EventFixtures.listPods()
        received.stage = EventFixtures.stage("RequestReceived")
        received.responseStatus = nil
        received.stageTimestamp = EventFixtures.received
        if sparse {
            received.user = AuditUserInfo(username: "")
            received.sourceIPs = []
            received.userAgent = ""
            received.objectRef = nil
        }
        let shared = received.stageIndependentJSON()
        var complete = received
        complete.stage = EventFixtures.stage("ResponseComplete")
        complete.responseStatus = AuditResponseStatus(
            code: 500, status: "Failure", reason: "InternalError", message: "cut")
        complete.stageTimestamp = EventFixtures.completed
        complete.level = EventFixtures.level("RequestResponse")
        complete.requestObject = try RawJSON(validating: Array(#"{"a":1}"#.utf8))
        complete.annotations = ["audit.k8s.io/truncated": "true"]
        #expect(EventFixtures.json(received.jsonBytes(sharing: shared)) == EventFixtures.json(received.jsonBytes()))
        #expect(EventFixtures.json(complete.jsonBytes(sharing: shared)) == EventFixtures.json(complete.jsonBytes()))
        #expect(EncodedAuditEvent(complete, sharing: shared).json == EncodedAuditEvent(complete).json)
    }

    /// Bodies are embedded as the API server embeds them (Go's `encoding/json` compacting a raw
    /// value): whitespace between tokens goes, strings keep theirs, numbers and escapes stay as
    /// written, and `<` `>` `&` U+2028 U+2029 inside strings are escaped.
    @Test func requestAndResponseObjectsAreCompactedAsTheAPIServerEmbedsThem() throws {
        var event = EventFixtures.listPods()
        event.level = EventFixtures.level("RequestResponse")
        let body = "{\"z\": 1,\n  \"a\": [1.50, 2 ] ,\t\"s\" : \"a b\\\" <&> \u{2028}\u{2029} €\\u0041\"}\r\n"
        event.requestObject = try RawJSON(validating: Array(body.utf8))
        event.responseObject = try RawJSON(validating: Array(#"{"kind":"Status","code":201}"#.utf8))
        let json = EventFixtures.json(event.jsonBytes())
        #expect(
            json.contains(#""requestObject":{"z":1,"a":[1.50,2],"s":"a b\" \u003c\u0026\u003e \u2028\u2029 €\u0041"},"#)
        )
        #expect(json.contains(#""responseObject":{"kind":"Status","code":201},"requestReceivedTimestamp""#))
        #expect(!json.contains("\n"))
    }

    @Test(arguments: [
        ("[ 1 , 2 ]", "[1,2]"),
        (#"{"a" :"x\\"}"#, #"{"a":"x\\"}"#),
        (#"{"a":"\"<\""}"#, #"{"a":"\"\u003c\""}"#),
        ("\"\u{2027}\u{202A}\u{20AC}\"", "\"\u{2027}\u{202A}\u{20AC}\""),
        ("<&> 1", "<&>1"),
    ])
    func compactingFollowsStringsAndEscapes(input: String, expected: String) {
        #expect(RawJSON.compactingAsGo(Array(input.utf8)) == Array(expected.utf8))
    }

    /// A torn U+2028 (E2 80 then a quote) is copied, not swallowed.
    @Test func compactingKeepsBytesThatOnlyBeginALineSeparator() {
        let input: [UInt8] = [0x22, 0xE2, 0x80, 0x22, 0x20, 0x22, 0xE2, 0x22]
        #expect(RawJSON.compactingAsGo(input) == [0x22, 0xE2, 0x80, 0x22, 0x22, 0xE2, 0x22])
    }

    @Test func rawJSONRejectsBytesThatAreNotJSON() {
        #expect(throws: RawJSON.ValidationError.notJSON) { try RawJSON(validating: Array("{nope".utf8)) }
        #expect(throws: RawJSON.ValidationError.notJSON) { try RawJSON(validating: Array("kind: Pod".utf8)) }
    }

    @Test func statusAnnotationsImpersonationAndExtraAreWritten() {
        var event = EventFixtures.listPods()
        event.responseStatus = AuditResponseStatus(
            code: 403, status: "Failure", reason: "Forbidden", message: "pods is forbidden")
        event.impersonatedUser = AuditUserInfo(username: "bob", uid: "42", extra: ["scopes": ["a", "b"], "ab": []])
        event.annotations = ["z/key": "1", "authorization.k8s.io/decision": "forbid"]
        let json = EventFixtures.json(event.jsonBytes())
        #expect(
            json.contains(
                #""responseStatus":{"metadata":{},"status":"Failure","message":"pods is forbidden","#
                    + #""reason":"Forbidden","code":403}"#))
        #expect(
            json.contains(#""impersonatedUser":{"username":"bob","uid":"42","extra":{"ab":[],"scopes":["a","b"]}}"#))
        #expect(json.hasSuffix(#""annotations":{"authorization.k8s.io/decision":"forbid","z/key":"1"}}"#))
    }

    /// An API server error's `Status` body, whatever its layout and key order, is copied as the
    /// API server copies it (`LogResponseObject`) and written in `metav1.Status` field order,
    /// empty fields left out; any other body is no `Status`.
    @Test func aStatusBodyIsCopiedAndWrittenInGoFieldOrder() throws {
        let body = """
            { "code": 422, "details": { "retryAfterSeconds": 0, "causes": [
                { "field": "metadata.name", "message": "Invalid value: \\"Bad\\"", "reason": "FieldValueInvalid" },
                { "reason": "FieldValueRequired", "message": "", "field": "spec.containers" } ],
              "kind": "Pod", "name": "Bad", "group": "" },
              "reason": "Invalid", "message": "Pod \\"Bad\\" is invalid", "status": "Failure",
              "metadata": {}, "apiVersion": "v1", "kind": "Status" }
            """
        let status = try #require(AuditResponseStatus(statusBody: Array(body.utf8)))
        var event = EventFixtures.listPods()
        event.responseStatus = status
        let json = EventFixtures.json(event.jsonBytes())
        #expect(
            json.contains(
                #""responseStatus":{"metadata":{},"status":"Failure","message":"Pod \"Bad\" is invalid","#
                    + #""reason":"Invalid","details":{"name":"Bad","kind":"Pod","causes":["#
                    + #"{"reason":"FieldValueInvalid","message":"Invalid value: \"Bad\"","field":"metadata.name"},"#
                    + #"{"reason":"FieldValueRequired","field":"spec.containers"}]},"code":422}"#), "\(json)")
        // Read back (a truncating sink does) and written again: the same.
        let decoded = try JSONDecoder().decode(AuditEvent.self, from: Data(event.jsonBytes()))
        #expect(decoded.responseStatus == status)
        for other in [#"{"kind":"PodList","items":[]}"#, "not json", #"["Status"]"#, ""] {
            #expect(AuditResponseStatus(statusBody: Array(other.utf8)) == nil, "\(other)")
        }
    }

    /// As Go's `encoding/json` escapes, which the API server's encoders use: short forms for
    /// `\b \f \n \r \t`, `\u00xx` for other control bytes and for `<` `>` `&`, `\u2028` and
    /// `\u2029`; DEL and every other character as they are.
    @Test func stringsAreEscapedAsGoDoes() throws {
        var event = EventFixtures.listPods()
        event.userAgent = "say \"hi\"\\\n\t\u{01}\u{08}\u{0C}\u{1F}é <a&b> \u{2028}\u{2029}\u{7F}€\u{2027}"
        let json = EventFixtures.json(event.jsonBytes())
        #expect(
            json.contains(
                #""userAgent":"say \"hi\"\\\n\t\u0001\b\f\u001fé \u003ca\u0026b\u003e \u2028\u2029"#
                    + "\u{7F}€\u{2027}\""))
        let decoded = try JSONDecoder().decode(AuditEvent.self, from: Data(event.jsonBytes()))
        #expect(decoded.userAgent == event.userAgent)
    }

    /// A request URI with several parameters, as the API server writes it.
    @Test func ampersandsInTheRequestURIAreEscaped() {
        var event = EventFixtures.listPods()
        event.requestURI = "/api/v1/pods?allowWatchBookmarks=true&watch=true"
        #expect(
            EventFixtures.json(event.jsonBytes()).contains(
                #""requestURI":"/api/v1/pods?allowWatchBookmarks=true\u0026watch=true""#))
    }

    /// The serializer's buffer starts at a few hundred bytes and grows as it goes: an event
    /// many times that size, grown by every kind of write (keys, plain and escaped strings,
    /// spliced objects, timestamps), comes out whole.
    @Test func eventsFarLargerThanTheInitialBufferComeOutWhole() throws {
        var event = EventFixtures.listPods()
        event.requestURI = "/api/v1/namespaces/default/pods?labelSelector=" + String(repeating: "a%3Db,", count: 2000)
        event.user = AuditUserInfo(username: "alice", groups: (0..<500).map { "group-\($0)-\"quoted\"" })
        event.userAgent = String(repeating: "tab\there\n", count: 300)
        event.requestObject = try RawJSON(
            validating: Array(("[" + (0..<1000).map { "\($0)" }.joined(separator: ",") + "]").utf8))
        event.annotations = Dictionary(uniqueKeysWithValues: (0..<100).map { ("key-\($0)", "value \($0)") })
        let bytes = event.jsonBytes()
        #expect(bytes.count > 30_000)
        let decoded = try JSONDecoder().decode(AuditEvent.self, from: Data(bytes))
        #expect(decoded.requestURI == event.requestURI)
        #expect(decoded.user == event.user)
        #expect(decoded.userAgent == event.userAgent)
        #expect(decoded.annotations == event.annotations)
        #expect(decoded.stageTimestamp == event.stageTimestamp)
        #expect(decoded.jsonBytes() == bytes)
    }

    @Test func eventRoundTripsThroughJSONDecoder() throws {
        var event = EventFixtures.listPods()
        event.requestObject = try RawJSON(
            validating: Array(#"{"a":{"b":[true,null,"x",-3,1.5]},"c":18446744073709551615}"#.utf8))
        event.impersonatedUser = AuditUserInfo(username: "bob", groups: ["g"], extra: ["k": ["v"]])
        event.annotations = ["k": "v"]
        let bytes = event.jsonBytes()
        let decoded = try JSONDecoder().decode(AuditEvent.self, from: Data(bytes))
        #expect(decoded.jsonBytes() == bytes)
        #expect(decoded.requestReceivedTimestamp == EventFixtures.received)
        #expect(decoded.user == event.user)
        #expect(decoded.impersonatedUser == event.impersonatedUser)
        #expect(decoded.objectRef?.namespace == "default")
    }

    @Test func jsonEncoderAndTheSerializerProduceTheSameDocument() throws {
        var event = EventFixtures.listPods()
        event.responseObject = try RawJSON(validating: Array(#"{"items":[{"n":1}],"kind":"PodList"}"#.utf8))
        event.annotations = ["k": "v"]
        let encoded = try JSONEncoder().encode(event)
        #expect(EventFixtures.document(Array(encoded)) == EventFixtures.document(event.jsonBytes()))
        let decoded = try JSONDecoder().decode(AuditEvent.self, from: encoded)
        #expect(decoded.jsonBytes() == event.jsonBytes())
    }

    /// As the API server's webhook batches: the list has the type, its items do not (its encoder
    /// sets `kind` and `apiVersion` on the object it encodes, the list, alone).
    @Test func eventListWrapsItemsAsTheWebhookExpects() throws {
        let first = EventFixtures.listPods(auditID: "a")
        let second = EventFixtures.listPods(auditID: "b")
        let body = EventFixtures.json(AuditEventList(items: [first, second]).jsonBytes())
        let header = #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","#
        func item(_ event: AuditEvent) throws -> String {
            let standalone = EventFixtures.json(event.jsonBytes())
            try #require(standalone.hasPrefix(header))
            return "{" + standalone.dropFirst(header.count)
        }
        let expected =
            #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#
            + (try item(first)) + "," + (try item(second)) + "]}"
        #expect(body == expected)
        #expect(body.hasPrefix(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"level":"#))
        let decoded = try JSONDecoder().decode(AuditEventList.self, from: Data(body.utf8))
        #expect(decoded.items.map(\.auditID) == ["a", "b"])
    }

    @Test func eventListIsAssembledFromAlreadyEncodedEvents() {
        let encoded = [
            EventFixtures.listPods(auditID: "a").jsonBytes(), EventFixtures.listPods(auditID: "b").jsonBytes(),
        ]
        let body = AuditEventList.jsonBody(encodedEvents: encoded)
        let list = AuditEventList(items: [EventFixtures.listPods(auditID: "a"), EventFixtures.listPods(auditID: "b")])
        #expect(body == list.jsonBytes())
        #expect(
            EventFixtures.json(AuditEventList.jsonBody(encodedEvents: [[UInt8]]()))
                == #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}"#)
    }

    @Test func eventListFromJSONEncoderHasTheSameShape() throws {
        let list = AuditEventList(items: [EventFixtures.listPods()])
        let encoded = try JSONEncoder().encode(list)
        #expect(EventFixtures.document(Array(encoded)) == EventFixtures.document(list.jsonBytes()))
    }
}
