import Foundation
import HTTPTypes
import Impersonation
import OIDCVerifier

/// What the proxy would do with a token: forward it as a user, or refuse it and why.
public enum TokenVerdict: Sendable, Equatable {
    /// Verified; requests go upstream with these `Impersonate-*` fields.
    case accepted(VerifiedToken, impersonation: [HTTPField])
    /// Verification failed: the proxy answers 401.
    case refused(TokenRefusal)
    /// Verified, but the user cannot be impersonated: the proxy answers 403.
    case forbidden(ImpersonationRefusal, user: UserInfo)

    /// Decides the impersonation step for a verified token, as the proxy's request chain does.
    public static func impersonating(_ verified: VerifiedToken, options: ImpersonationOptions) -> TokenVerdict {
        let user = ImpersonatedUser(
            username: verified.user.username, groups: verified.user.groups, extra: verified.user.extra)
        do {
            let fields = try ImpersonationFilter(options: options).forwardedFields(
                for: HTTPFields(), user: user, clientIP: nil, mode: .impersonate)
            return .accepted(verified, impersonation: Array(fields))
        } catch {
            return .forbidden(error, user: verified.user)
        }
    }

    public var isAccepted: Bool {
        if case .accepted = self { true } else { false }
    }
}
