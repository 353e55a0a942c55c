import Foundation
import Impersonation
import Testing

@Suite struct KubernetesStatusTests {
    @Test func bodyHasTheAPIServersShapeAndKeyOrder() {
        let body = KubernetesStatus.jsonBody(
            code: 403, reason: "Forbidden", message: "Impersonation requests are disabled when using kube-oidc-proxy")
        #expect(
            body
                == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#
                + #""message":"Impersonation requests are disabled when using kube-oidc-proxy","#
                + #""reason":"Forbidden","code":403}"#
        )
    }

    @Test func statusValueRendersTheSameBody() {
        let status = KubernetesStatus(code: 401, reason: .unauthorized, message: "Unauthorized")
        #expect(
            status.jsonBody == KubernetesStatus.jsonBody(code: 401, reason: "Unauthorized", message: "Unauthorized"))
    }

    @Test(arguments: [
        #"say "hello""#,
        #"back\slash \\ and \" and \u0041"#,
        "line\nbreak\r\ttab\u{08}\u{0C}",
        String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }),
        "del \u{7F}",
        "ünïcode — 日本語 😀 \u{200B}",
        "\u{2028}\u{2029}",
        "</script><script>alert(1)</script>&amp;",
        "",
        "{\"kind\":\"Status\"}",
    ])
    func hostileMessageStillMakesValidJSON(message: String) throws {
        let body = KubernetesStatus.jsonBody(code: 400, reason: "BadRequest", message: message)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        )
        #expect(object["message"] as? String == message)
        #expect(object["reason"] as? String == "BadRequest")
        #expect(object["code"] as? Int == 400)
        #expect(object["kind"] as? String == "Status")
        #expect(object["apiVersion"] as? String == "v1")
        #expect(object["status"] as? String == "Failure")
        #expect((object["metadata"] as? [String: Any])?.isEmpty == true)
        #expect(!body.unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test func hostileReasonStillMakesValidJSON() throws {
        let body = KubernetesStatus.jsonBody(code: 502, reason: "Bad\"\n\\Gateway", message: "m")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(object["reason"] as? String == "Bad\"\n\\Gateway")
    }

    @Test func controlCharactersUseShortOrUnicodeEscapes() {
        let body = KubernetesStatus.jsonBody(code: 400, reason: "BadRequest", message: "\n\u{01}\u{1F}\u{2028}")
        #expect(body.contains(#""message":"\n\u0001\u001f\u2028""#))
    }

    /// The API server's encoder escapes HTML's specials in every string.
    @Test func angleBracketsAndAmpersandsAreEscapedAsGoDoes() {
        let body = KubernetesStatus.jsonBody(code: 403, reason: "Forbidden", message: "user <a&b> cannot")
        #expect(body.contains(#""message":"user \u003ca\u0026b\u003e cannot""#))
    }

    @Test func reasonsUseKubernetesSpelling() {
        #expect(KubernetesStatus.Reason.forbidden.rawValue == "Forbidden")
        #expect(KubernetesStatus.Reason.unauthorized.rawValue == "Unauthorized")
        #expect(KubernetesStatus.Reason.badRequest.rawValue == "BadRequest")
    }

    @Test func refusalsRenderTheirStatus() throws {
        let body = ImpersonationRefusal.emptyUsername.status.jsonBody
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(object["code"] as? Int == 403)
        #expect(object["reason"] as? String == "Forbidden")
        #expect(object["message"] as? String == "Username claim not available in OIDC Issuer response")
    }
}
