import Foundation
import OIDCVerifier
import TestSupport

// A real HTTPS OIDC issuer on loopback for the proxy benchmark: writes `ISSUER_URL`,
// `ISSUER_CA` and `TOKEN` (a 12-hour token for alice with two roles) as shell assignments to
// the file named by the first argument, then serves until killed. Beside it, a stand-in Banyan
// REST API (token exchange and batch POSTs, answered at once) for the audit comparison:
// `BANYAN_URL`, `BANYAN_CA` and `BANYAN_REFRESH_TOKEN`.

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: BenchIssuer <env-file>\n".utf8))
    exit(2)
}
let issuer = try await TestIssuer.start()
var claims = issuer.claims(extra: [
    "email": .string("alice@example.com"), "email_verified": .bool(true),
    "roles": .array([.string("admin"), .string("dev")]),
])
claims["exp"] = .number((Date().timeIntervalSince1970 + 12 * 3600).rounded())
let token = issuer.mint(claims)
// Batches are taken with any access token it issued: audited proxies compared side by side
// (Benchmarks/cpu-pair.sh) exchange the same refresh token, and must not refuse each other's.
let banyan = try await FakeBanyanAPI.start(refreshToken: "bench-refresh-token", acceptsEveryIssuedToken: true)
try """
ISSUER_URL=\(issuer.url)
ISSUER_CA=\(issuer.caFile)
TOKEN=\(token)
BANYAN_URL=\(banyan.url)
BANYAN_CA=\(banyan.caFile)
BANYAN_REFRESH_TOKEN=\(banyan.refreshToken)

""".write(toFile: CommandLine.arguments[1], atomically: true, encoding: .utf8)
while true { try await Task.sleep(for: .seconds(3600)) }
