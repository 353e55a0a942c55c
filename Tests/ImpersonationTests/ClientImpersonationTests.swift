import HTTPTypes
import Impersonation
import Testing

@Suite struct ClientImpersonationTests {
    static let impersonationNames = [
        "Impersonate-User", "impersonate-user", "IMPERSONATE-USER", "iMpErSoNaTe-UsEr",
        "Impersonate-Group", "impersonate-group", "IMPERSONATE-GROUP", "Impersonate-GROUP",
        "Impersonate-Uid", "impersonate-uid", "IMPERSONATE-UID", "Impersonate-UID",
        "Impersonate-Extra-Scopes", "impersonate-extra-scopes", "IMPERSONATE-EXTRA-SCOPES",
        "Impersonate-Extra-foo%2Fbar", "impersonate-Extra-Remote-Client-Ip", "Impersonate-Extra-",
    ]

    let filter = ImpersonationFilter()
    let alice = ImpersonatedUser(username: "banyan:alice@example.com", groups: ["banyan:admin"])

    @Test(arguments: impersonationNames)
    func clientImpersonationHeaderIsRefused(name: String) {
        let request = fields(("Authorization", "Bearer x"), (name, "system:admin"))
        #expect(throws: ImpersonationRefusal.clientImpersonationHeader(HTTPField.Name(name)!)) {
            try ImpersonationFilter.refuseClientImpersonation(in: request, mode: .impersonate)
        }
        #expect(throws: ImpersonationRefusal.self) {
            try filter.forwardedFields(for: request, user: alice, clientIP: "10.0.0.1", mode: .impersonate)
        }
    }

    @Test func clientImpersonateUserHeaderIsRefused() {
        #expect(throws: ImpersonationRefusal.clientImpersonationHeader(.impersonateUser)) {
            try ImpersonationFilter.refuseClientImpersonation(
                in: fields(("Impersonate-User", "system:admin")), mode: .impersonate)
        }
    }

    @Test func clientImpersonateGroupHeaderIsRefused() {
        #expect(throws: ImpersonationRefusal.clientImpersonationHeader(.impersonateGroup)) {
            try ImpersonationFilter.refuseClientImpersonation(
                in: fields(("Impersonate-Group", "system:masters")), mode: .impersonate)
        }
    }

    @Test func repeatedClientImpersonateGroupHeadersAreRefused() {
        let request = fields(
            ("Impersonate-Group", "system:masters"), ("Impersonate-Group", "admins"), ("impersonate-group", "x")
        )
        #expect(throws: ImpersonationRefusal.self) {
            try ImpersonationFilter.refuseClientImpersonation(in: request, mode: .impersonate)
        }
    }

    @Test func clientImpersonateUidHeaderIsRefused() {
        #expect(throws: ImpersonationRefusal.clientImpersonationHeader(.impersonateUid)) {
            try ImpersonationFilter.refuseClientImpersonation(in: fields(("Impersonate-Uid", "1")), mode: .impersonate)
        }
    }

    @Test func clientImpersonateExtraHeaderIsRefused() {
        #expect(throws: ImpersonationRefusal.self) {
            try ImpersonationFilter.refuseClientImpersonation(
                in: fields(("Impersonate-Extra-Scopes", "view")), mode: .impersonate)
        }
    }

    @Test func emptyImpersonationHeaderIsStillRefused() {
        #expect(throws: ImpersonationRefusal.self) {
            try ImpersonationFilter.refuseClientImpersonation(in: fields(("Impersonate-User", "")), mode: .impersonate)
        }
    }

    @Test func refusalIsForbiddenWithTheUpstreamMessage() {
        let refusal = ImpersonationRefusal.clientImpersonationHeader(.impersonateGroup)
        #expect(refusal.code == 403)
        #expect(refusal.reason == .forbidden)
        #expect(refusal.message == "Impersonation requests are disabled when using kube-oidc-proxy")
        #expect(
            refusal.status
                == KubernetesStatus(
                    code: 403, reason: .forbidden,
                    message: "Impersonation requests are disabled when using kube-oidc-proxy")
        )
    }

    @Test(arguments: [
        "Impersonate-Extra", "Impersonate-Users", "Impersonate-Groups", "Impersonate-Uids", "X-Impersonate-User",
        "Impersonate", "Impersonated-User", "ImpersonateUser", "Impersonate-Extras-x",
    ])
    func lookalikeHeaderIsNotRefused(name: String) throws {
        let request = fields(("Authorization", "Bearer x"), (name, "v"))
        try ImpersonationFilter.refuseClientImpersonation(in: request, mode: .impersonate)
        let forwarded = try filter.forwardedFields(for: request, user: alice, clientIP: nil, mode: .impersonate)
        #expect(forwarded[HTTPField.Name(name)!] == "v")
    }

    @Test(arguments: impersonationNames)
    func impersonationHeaderPassesWhenForwardedWithUserCredentials(name: String) throws {
        let request = fields(("Authorization", "Bearer x"), (name, "system:admin"))
        try ImpersonationFilter.refuseClientImpersonation(in: request, mode: .userCredentials)
        let forwarded = try filter.forwardedFields(for: request, user: alice, clientIP: nil, mode: .userCredentials)
        #expect(lines(forwarded) == ["Authorization: Bearer x", "\(name): system:admin"])
    }
}
