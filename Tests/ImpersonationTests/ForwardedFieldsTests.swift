import HTTPTypes
import Impersonation
import Testing

@Suite struct ForwardedFieldsTests {
    let alice = ImpersonatedUser(username: "banyan:alice@example.com", groups: ["banyan:admin", "banyan:dev"])
    let request = fields(
        ("Accept", "application/json"), ("Authorization", "Bearer \(sampleToken)"), ("User-Agent", "kubectl/v1.31")
    )

    func forward(
        _ request: HTTPFields,
        as user: ImpersonatedUser,
        options: ImpersonationOptions = ImpersonationOptions(),
        clientIP: String? = "192.0.2.7"
    ) throws -> [String] {
        lines(
            try ImpersonationFilter(options: options).forwardedFields(
                for: request, user: user, clientIP: clientIP, mode: .impersonate)
        )
    }

    @Test func userAndGroupsAreImpersonatedAndAuthorizationIsRemoved() throws {
        #expect(
            try forward(request, as: alice) == [
                "Accept: application/json", "User-Agent: kubectl/v1.31",
                "Impersonate-User: banyan:alice@example.com",
                "Impersonate-Group: banyan:admin", "Impersonate-Group: banyan:dev",
                "Impersonate-Group: system:authenticated",
            ]
        )
    }

    @Test func everyAuthorizationFieldIsRemoved() throws {
        let request = fields(("authorization", "Bearer a"), ("X-Trace", "1"), ("AUTHORIZATION", "Basic b"))
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"))
        #expect(forwarded == ["X-Trace: 1", "Impersonate-User: u", "Impersonate-Group: system:authenticated"])
    }

    @Test func userWithoutGroupsGetsOnlySystemAuthenticated() throws {
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"))
        #expect(forwarded.filter { $0.hasPrefix("Impersonate-Group") } == ["Impersonate-Group: system:authenticated"])
    }

    @Test func systemAuthenticatedIsAddedOnce() throws {
        let user = ImpersonatedUser(username: "u", groups: ["a", "system:authenticated", "b"])
        let forwarded = try forward(request, as: user)
        #expect(
            forwarded.filter { $0.hasPrefix("Impersonate-Group") } == [
                "Impersonate-Group: a", "Impersonate-Group: system:authenticated", "Impersonate-Group: b",
            ]
        )
    }

    @Test func groupOrderAndDuplicatesAreKept() throws {
        let user = ImpersonatedUser(username: "u", groups: ["z", "a", "m", "a", "z"])
        let forwarded = try forward(request, as: user)
        #expect(
            forwarded.filter { $0.hasPrefix("Impersonate-Group") } == [
                "Impersonate-Group: z", "Impersonate-Group: a", "Impersonate-Group: m", "Impersonate-Group: a",
                "Impersonate-Group: z", "Impersonate-Group: system:authenticated",
            ]
        )
    }

    @Test func systemAuthenticatedIsRecognisedOnlyWhenSpeltExactly() throws {
        let user = ImpersonatedUser(username: "u", groups: ["System:Authenticated"])
        let forwarded = try forward(request, as: user)
        #expect(
            forwarded.filter { $0.hasPrefix("Impersonate-Group") } == [
                "Impersonate-Group: System:Authenticated", "Impersonate-Group: system:authenticated",
            ]
        )
    }

    @Test func extraValuesGetOneFieldEach() throws {
        let user = ImpersonatedUser(username: "u", extra: ["scopes": ["view", "edit"]])
        let forwarded = try forward(request, as: user)
        #expect(
            forwarded.filter { $0.hasPrefix("Impersonate-Extra") } == [
                "Impersonate-Extra-scopes: view", "Impersonate-Extra-scopes: edit",
            ]
        )
    }

    @Test func userExtraKeysAreSentInByteOrder() throws {
        let user = ImpersonatedUser(username: "u", extra: ["b": ["2"], "a": ["1"], "C": ["0"], "aa": ["3"], "e": []])
        let forwarded = try forward(request, as: user)
        #expect(
            forwarded.filter { $0.hasPrefix("Impersonate-Extra") } == [
                "Impersonate-Extra-C: 0", "Impersonate-Extra-a: 1", "Impersonate-Extra-aa: 3",
                "Impersonate-Extra-b: 2",
            ]
        )
    }

    @Test func extraKeyIsPercentEscapedLikeClientGoAndValueIsNot() throws {
        let user = ImpersonatedUser(
            username: "u", extra: ["example.com/scopes": ["a/b c%d"], "ünïcode key": ["välue"]]
        )
        let forwarded = try forward(request, as: user)
        #expect(
            forwarded.filter { $0.hasPrefix("Impersonate-Extra") } == [
                "Impersonate-Extra-example.com%2Fscopes: a/b c%d",
                "Impersonate-Extra-%C3%BCn%C3%AFcode%20key: välue",
            ]
        )
    }

    @Test func extraSourcesComeInOrderUserThenFlagsThenClientIP() throws {
        let user = ImpersonatedUser(username: "u", extra: ["scopes": ["view"]])
        let options = ImpersonationOptions(
            extraUserHeaders: [
                ExtraUserHeader(key: "cluster", value: "prod"), ExtraUserHeader(key: "team", value: "a"),
                ExtraUserHeader(key: "cluster", value: "eu"),
            ],
            includesClientIP: true
        )
        let forwarded = try forward(request, as: user, options: options, clientIP: "2001:db8::7")
        #expect(
            forwarded.filter { $0.hasPrefix("Impersonate-Extra") } == [
                "Impersonate-Extra-scopes: view", "Impersonate-Extra-cluster: prod", "Impersonate-Extra-team: a",
                "Impersonate-Extra-cluster: eu", "Impersonate-Extra-Remote-Client-Ip: 2001:db8::7",
            ]
        )
    }

    @Test func clientIPComesFromThePeerNotFromXForwardedFor() throws {
        let request = fields(("Authorization", "Bearer x"), ("X-Forwarded-For", "203.0.113.9"))
        let options = ImpersonationOptions(includesClientIP: true)
        let forwarded = try forward(
            request, as: ImpersonatedUser(username: "u"), options: options, clientIP: "10.1.2.3")
        #expect(forwarded.contains("Impersonate-Extra-Remote-Client-Ip: 10.1.2.3"))
        #expect(!forwarded.contains("Impersonate-Extra-Remote-Client-Ip: 203.0.113.9"))
        #expect(forwarded.first == "X-Forwarded-For: 203.0.113.9")
    }

    @Test func clientIPIsNotSentWithoutTheFlag() throws {
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"), clientIP: "10.1.2.3")
        #expect(!forwarded.contains { $0.hasPrefix("Impersonate-Extra") })
    }

    @Test func clientIPIsSkippedWhenThePeerIsUnknown() throws {
        let options = ImpersonationOptions(includesClientIP: true)
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"), options: options, clientIP: nil)
        #expect(!forwarded.contains { $0.hasPrefix("Impersonate-Extra") })
    }

    @Test func emptyUsernameIsRefused() {
        #expect(throws: ImpersonationRefusal.emptyUsername) {
            try forward(request, as: ImpersonatedUser(username: "", groups: ["g"]))
        }
        let refusal = ImpersonationRefusal.emptyUsername
        #expect(refusal.code == 403)
        #expect(refusal.reason == .forbidden)
        #expect(refusal.message == "Username claim not available in OIDC Issuer response")
    }

    @Test func clientImpersonationIsRefusedBeforeAnEmptyUsername() {
        let request = fields(("Impersonate-User", "admin"))
        #expect(throws: ImpersonationRefusal.clientImpersonationHeader(.impersonateUser)) {
            try forward(request, as: ImpersonatedUser(username: ""))
        }
    }

    @Test(arguments: ["alice\r\nImpersonate-Group: system:masters", "alice\n", "al\0ice", "\rx", " alice", "alice\t"])
    func usernameThatCannotBeAHeaderValueIsRefused(username: String) {
        #expect(throws: ImpersonationRefusal.unrepresentableValue(.impersonateUser)) {
            try forward(request, as: ImpersonatedUser(username: username))
        }
    }

    @Test(arguments: ["admins\nsystem:masters", "a\rb", "a\0b", "\u{7F}"])
    func groupThatCannotBeAHeaderValueIsRefused(group: String) {
        #expect(throws: ImpersonationRefusal.unrepresentableValue(.impersonateGroup)) {
            try forward(request, as: ImpersonatedUser(username: "u", groups: ["fine", group]))
        }
    }

    @Test func extraValueThatCannotBeAHeaderValueIsRefused() {
        let user = ImpersonatedUser(username: "u", extra: ["scopes": ["view\r\nX-Evil: 1"]])
        #expect(throws: ImpersonationRefusal.unrepresentableValue(.impersonateExtra(key: "scopes"))) {
            try forward(request, as: user)
        }
        let options = ImpersonationOptions(extraUserHeaders: [ExtraUserHeader(key: "k", value: "v\0")])
        #expect(throws: ImpersonationRefusal.unrepresentableValue(.impersonateExtra(key: "k"))) {
            try forward(request, as: ImpersonatedUser(username: "u"), options: options)
        }
    }

    @Test func unrepresentableValueRefusalNamesTheFieldButNotTheValue() {
        let user = ImpersonatedUser(username: "secret\nvalue")
        do {
            _ = try forward(request, as: user)
            Issue.record("expected a refusal")
        } catch let refusal as ImpersonationRefusal {
            #expect(refusal.code == 403)
            #expect(refusal.reason == .forbidden)
            #expect(refusal.message.contains("Impersonate-User"))
            #expect(!refusal.message.contains("secret"))
            #expect(!refusal.description.contains("secret"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func nonASCIIUsernameAndGroupsTravelUnchanged() throws {
        let user = ImpersonatedUser(username: "banyan:jürgen@example.com", groups: ["banyan:développeurs"])
        let forwarded = try forward(request, as: user)
        #expect(forwarded.contains("Impersonate-User: banyan:jürgen@example.com"))
        #expect(forwarded.contains("Impersonate-Group: banyan:développeurs"))
    }

    @Test func otherClientHeadersPassUnchangedInOrder() throws {
        let request = fields(
            ("Host", "kube.example.com"), ("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
            ("X-Stream-Protocol-Version", "v4.channel.k8s.io"), ("X-Stream-Protocol-Version", "v3.channel.k8s.io"),
            ("Authorization", "Bearer x"), ("Content-Type", "application/json"), ("X-Forwarded-For", "203.0.113.9"),
            ("Cookie", "a=b"), ("Accept-Encoding", "gzip"),
        )
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"))
        #expect(
            forwarded == [
                "Host: kube.example.com", "Connection: Upgrade", "Upgrade: SPDY/3.1",
                "X-Stream-Protocol-Version: v4.channel.k8s.io", "X-Stream-Protocol-Version: v3.channel.k8s.io",
                "Content-Type: application/json", "X-Forwarded-For: 203.0.113.9", "Cookie: a=b",
                "Accept-Encoding: gzip", "Impersonate-User: u", "Impersonate-Group: system:authenticated",
            ]
        )
    }

    @Test func webSocketBearerEntryIsRemovedWhenForwarding() throws {
        let request = webSocketUpgrade(protocols: ["\(bearerProtocol(sampleToken)), v5.channel.k8s.io"])
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"))
        #expect(
            forwarded == [
                "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Protocol: v5.channel.k8s.io", "Impersonate-User: u",
                "Impersonate-Group: system:authenticated",
            ]
        )
    }

    @Test func webSocketBearerEntryIsRemovedEvenWhenAuthorizationCarriedTheToken() throws {
        let request = webSocketUpgrade(protocols: [bearerProtocol("ws")], extra: [("Authorization", "Bearer h")])
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"))
        #expect(!forwarded.contains { $0.hasPrefix("Sec-WebSocket-Protocol") || $0.hasPrefix("Authorization") })
    }

    @Test func bearerEntryIsNeverForwardedUnderTheProxysIdentityEvenWithoutAnUpgrade() throws {
        let request = fields(("Authorization", "Bearer h"), ("Sec-WebSocket-Protocol", "\(bearerProtocol("ws")),x"))
        let forwarded = try forward(request, as: ImpersonatedUser(username: "u"))
        #expect(forwarded.first == "Sec-WebSocket-Protocol: x")
    }

    @Test func userCredentialsModeForwardsHeadersAsTheyCame() throws {
        let request = webSocketUpgrade(
            protocols: ["\(bearerProtocol("ws")), v5.channel.k8s.io"],
            extra: [("Authorization", "Bearer h"), ("Impersonate-Group", "g"), ("X-Forwarded-For", "203.0.113.9")]
        )
        let options = ImpersonationOptions(
            extraUserHeaders: [ExtraUserHeader(key: "k", value: "v")], includesClientIP: true
        )
        let forwarded = try ImpersonationFilter(options: options).forwardedFields(
            for: request, user: ImpersonatedUser(username: ""), clientIP: "10.0.0.1", mode: .userCredentials)
        #expect(lines(forwarded) == lines(request))
    }
}
