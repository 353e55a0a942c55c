import HTTPTypes
import Impersonation
import Testing

@Suite struct WebSocketBearerTests {
    @Test func bearerSubprotocolTokenIsDecoded() throws {
        let request = webSocketUpgrade(protocols: ["\(bearerProtocol(sampleToken)), v5.channel.k8s.io"])
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.token == sampleToken)
        #expect(credential.source == .webSocketProtocol)
        #expect(credential.webSocketProtocolEdit == .replace("v5.channel.k8s.io"))
    }

    @Test func remainingSubprotocolsAreForwardedInOrder() throws {
        let request = webSocketUpgrade(
            protocols: ["v5.channel.k8s.io, \(bearerProtocol("t")), v4.channel.k8s.io,channel.k8s.io"]
        )
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.token == "t")
        #expect(
            lines(credential.removed(from: request)) == [
                "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Protocol: v5.channel.k8s.io,v4.channel.k8s.io,channel.k8s.io",
            ]
        )
    }

    @Test func subprotocolsSpreadOverSeveralFieldsAreJoinedIntoOne() throws {
        let request = webSocketUpgrade(
            protocols: ["v5.channel.k8s.io", bearerProtocol("t"), "v4.channel.k8s.io"],
            extra: [("Accept", "*/*")]
        )
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.token == "t")
        #expect(
            lines(credential.removed(from: request)) == [
                "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Protocol: v5.channel.k8s.io,v4.channel.k8s.io", "Accept: */*",
            ]
        )
    }

    @Test func tokenWithNonASCIICharactersIsDecoded() throws {
        let request = webSocketUpgrade(protocols: [bearerProtocol("tökén-ü"), "v5.channel.k8s.io"])
        #expect(try BearerCredential.extract(from: request)?.token == "tökén-ü")
    }

    @Test(arguments: [1, 2, 3, 4, 5, 31, 32, 33])
    func everyUnpaddedLengthDecodes(length: Int) throws {
        let token = String((0..<length).map { Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8($0 % 26))) })
        let request = webSocketUpgrade(protocols: [bearerProtocol(token), "v5.channel.k8s.io"])
        #expect(try BearerCredential.extract(from: request)?.token == token)
    }

    @Test func paddedBase64IsRefused() {
        // "ab" encodes to "YWI=" with padding.
        let request = webSocketUpgrade(protocols: [bearerProtocolPrefix + "YWI=", "v5.channel.k8s.io"])
        #expect(throws: CredentialError.invalidWebSocketTokenEncoding) {
            try BearerCredential.extract(from: request)
        }
    }

    @Test(arguments: ["a+b/", "not base64", "YW*I", "Y", "YWJjZ", "YW.I"])
    func invalidBase64URLIsRefused(encoded: String) {
        let request = webSocketUpgrade(protocols: [bearerProtocolPrefix + encoded, "v5.channel.k8s.io"])
        #expect(throws: CredentialError.invalidWebSocketTokenEncoding) {
            try BearerCredential.extract(from: request)
        }
    }

    @Test func emptyBearerEntryIsRefused() {
        let request = webSocketUpgrade(protocols: [bearerProtocolPrefix, "v5.channel.k8s.io"])
        #expect(throws: CredentialError.invalidWebSocketToken) {
            try BearerCredential.extract(from: request)
        }
    }

    @Test func tokenThatIsNotUTF8IsRefused() {
        let request = webSocketUpgrade(
            protocols: [bearerProtocolPrefix + rawBase64URL([0xFF, 0xFE, 0x41]), "v5.channel.k8s.io"]
        )
        #expect(throws: CredentialError.invalidWebSocketToken) {
            try BearerCredential.extract(from: request)
        }
    }

    @Test func twoBearerEntriesAreRefused() {
        let request = webSocketUpgrade(protocols: ["\(bearerProtocol("a")),\(bearerProtocol("b")),v5.channel.k8s.io"])
        #expect(throws: CredentialError.multipleWebSocketTokens) {
            try BearerCredential.extract(from: request)
        }
        #expect(CredentialError.multipleWebSocketTokens.description.contains("multiple bearer tokens"))
    }

    @Test func twoBearerEntriesInSeparateFieldsAreRefused() {
        let request = webSocketUpgrade(protocols: [bearerProtocol("a"), "v5.channel.k8s.io", bearerProtocol("a")])
        #expect(throws: CredentialError.multipleWebSocketTokens) {
            try BearerCredential.extract(from: request)
        }
    }

    @Test func bearerEntryWithoutAnotherSubprotocolIsRefused() {
        let request = webSocketUpgrade(protocols: [bearerProtocol("t")])
        #expect(throws: CredentialError.missingAdditionalWebSocketProtocol) {
            try BearerCredential.extract(from: request)
        }
    }

    @Test func bearerPrefixIsCaseSensitive() throws {
        let entry = "Base64url.Bearer.Authorization.K8s.Io." + rawBase64URL("t")
        let request = webSocketUpgrade(protocols: [entry, "v5.channel.k8s.io"])
        #expect(try BearerCredential.extract(from: request) == nil)
    }

    @Test func requestThatIsNotAnUpgradeIsIgnored() throws {
        let entries = "\(bearerProtocol("t")), v5.channel.k8s.io"
        #expect(try BearerCredential.extract(from: fields(("Sec-WebSocket-Protocol", entries))) == nil)
        let broken = fields(("Sec-WebSocket-Protocol", bearerProtocolPrefix + "!!"))
        #expect(try BearerCredential.extract(from: broken) == nil)
    }

    @Test(arguments: [
        ("keep-alive", "websocket"), ("Upgrade", "SPDY/3.1"), ("upgraded", "websocket"),
        ("close", "websocket"), ("Upgrade", "websockets"), ("Upgrade", "h2c"),
    ])
    func upgradeThatIsNotAWebSocketIsIgnored(connection: String, upgrade: String) throws {
        let request = fields(
            ("Connection", connection), ("Upgrade", upgrade),
            ("Sec-WebSocket-Protocol", "\(bearerProtocol("t")), v5.channel.k8s.io")
        )
        #expect(try BearerCredential.extract(from: request) == nil)
    }

    @Test(arguments: [
        ("Upgrade", "websocket"), ("upgrade", "WebSocket"), ("keep-alive, Upgrade", "websocket"),
        ("UPGRADE,keep-alive", "WEBSOCKET"), ("keep-alive ,  upgrade ", "h2c, websocket"),
    ])
    func webSocketUpgradeIsRecognisedCaseInsensitivelyInAList(connection: String, upgrade: String) throws {
        let request = fields(
            ("Connection", connection), ("Upgrade", upgrade),
            ("Sec-WebSocket-Protocol", "\(bearerProtocol("t")), v5.channel.k8s.io")
        )
        #expect(try BearerCredential.extract(from: request)?.token == "t")
    }

    @Test func authorizationHeaderWinsOverTheSubprotocol() throws {
        let request = webSocketUpgrade(
            protocols: ["\(bearerProtocol("from-websocket")), v5.channel.k8s.io"],
            extra: [("Authorization", "Bearer from-header")]
        )
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.token == "from-header")
        #expect(credential.source == .authorizationHeader)
        #expect(credential.webSocketProtocolEdit == .replace("v5.channel.k8s.io"))
        let forwarded = credential.removed(from: request)
        #expect(forwarded[.secWebSocketProtocol] == "v5.channel.k8s.io")
        #expect(forwarded[.authorization] == nil)
    }

    @Test func authorizationHeaderWinsEvenOverABrokenSubprotocol() throws {
        let request = webSocketUpgrade(
            protocols: [bearerProtocol("a"), bearerProtocolPrefix + "!!", "v5.channel.k8s.io"],
            extra: [("Authorization", "Bearer from-header")]
        )
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.token == "from-header")
        #expect(credential.removed(from: request)[values: .secWebSocketProtocol] == ["v5.channel.k8s.io"])
    }

    @Test func subprotocolFieldIsRemovedWhenOnlyTheBearerEntryWasThere() throws {
        let request = webSocketUpgrade(protocols: [bearerProtocol("ws")], extra: [("Authorization", "Bearer h")])
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.token == "h")
        #expect(credential.webSocketProtocolEdit == .remove)
        #expect(!credential.removed(from: request).contains(.secWebSocketProtocol))
    }

    @Test(arguments: ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  x"])
    func subprotocolTokenIsUsedWhenAuthorizationHasNone(authorization: String) throws {
        let request = webSocketUpgrade(
            protocols: ["\(bearerProtocol("ws")), v5.channel.k8s.io"],
            extra: [("Authorization", authorization)]
        )
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.token == "ws")
        #expect(credential.source == .webSocketProtocol)
        #expect(credential.removed(from: request)[.authorization] == nil)
    }

    @Test func whenBothSourcesFailTheAuthorizationErrorIsReported() {
        let request = webSocketUpgrade(
            protocols: [bearerProtocolPrefix + "!!", "v5.channel.k8s.io"],
            extra: [("Authorization", "Bearer  x")]
        )
        #expect(throws: CredentialError.emptyBearerToken) {
            try BearerCredential.extract(from: request)
        }
    }

    @Test func subprotocolWithoutBearerEntryIsLeftAlone() throws {
        let request = webSocketUpgrade(
            protocols: ["v5.channel.k8s.io,  v4.channel.k8s.io", "channel.k8s.io"],
            extra: [("Authorization", "Bearer h")]
        )
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(credential.webSocketProtocolEdit == .keep)
        #expect(
            credential.removed(from: request)[values: .secWebSocketProtocol] == [
                "v5.channel.k8s.io,  v4.channel.k8s.io", "channel.k8s.io",
            ]
        )
    }

    @Test func credentialErrorsAllAnswerUnauthorizedWithoutDetail() {
        let errors: [CredentialError] = [
            .emptyBearerToken, .invalidWebSocketTokenEncoding, .invalidWebSocketToken, .multipleWebSocketTokens,
            .missingAdditionalWebSocketProtocol,
        ]
        for error in errors {
            #expect(error.status == KubernetesStatus(code: 401, reason: .unauthorized, message: "Unauthorized"))
            #expect(!error.description.contains(sampleToken))
        }
    }
}
