import Foundation
import Testing

@testable import OIDCVerifier

/// Malformed input must be a refusal, never a crash, and never reach a key.
@Suite struct TokenShapeTests {
    func refusal(_ token: String) -> TokenRefusal? {
        do {
            _ = try CompactJWS(token)
            return nil
        } catch {
            return error
        }
    }

    func isMalformed(_ token: String) -> Bool {
        if case .malformed? = refusal(token) { return true }
        return false
    }

    let header = Base64URL.encode(Array(#"{"alg":"RS256","kid":"k"}"#.utf8))
    let payload = Base64URL.encode(Array(#"{"sub":"a"}"#.utf8))

    @Test func emptyTokenIsMalformed() { #expect(isMalformed("")) }
    @Test func oneSegmentIsMalformed() { #expect(isMalformed(header)) }
    @Test func twoSegmentsAreMalformed() { #expect(isMalformed(header + "." + payload)) }
    @Test func fourSegmentsAreMalformed() { #expect(isMalformed("\(header).\(payload).c2ln.ZXh0cmE")) }
    @Test func fiveDotsAreMalformed() { #expect(isMalformed(".....")) }
    @Test func emptySignatureIsMalformed() { #expect(isMalformed("\(header).\(payload).")) }
    @Test func badBase64IsMalformed() { #expect(isMalformed("\(header).\(payload).!!!!")) }
    @Test func paddedBase64IsMalformed() { #expect(isMalformed("\(header).\(payload).c2lnbg==")) }
    @Test func nonJSONHeaderIsMalformed() {
        #expect(isMalformed(Base64URL.encode(Array("not json".utf8)) + ".\(payload).c2ln"))
    }
    @Test func headerThatIsAnArrayIsMalformed() {
        #expect(isMalformed(Base64URL.encode(Array("[1,2]".utf8)) + ".\(payload).c2ln"))
    }
    @Test func headerWithoutAlgIsMalformed() {
        #expect(isMalformed(Base64URL.encode(Array(#"{"kid":"k"}"#.utf8)) + ".\(payload).c2ln"))
    }
    @Test func nonStringKidIsMalformed() {
        #expect(isMalformed(Base64URL.encode(Array(#"{"alg":"RS256","kid":7}"#.utf8)) + ".\(payload).c2ln"))
    }
    @Test func oneMegabyteTokenIsRefusedWithoutDecoding() {
        let huge = String(repeating: "a", count: 1 << 20)
        #expect(isMalformed("\(huge).\(huge).\(huge)"))
    }
    @Test func nonASCIITokenIsMalformed() { #expect(isMalformed("é.é.é")) }
    @Test func critHeaderIsRefused() {
        let crit = Base64URL.encode(Array(#"{"alg":"RS256","crit":["b64"],"b64":false}"#.utf8))
        #expect(refusal("\(crit).\(payload).c2ln") == .unsupportedCriticalHeader)
    }
    @Test func wellFormedTokenExposesItsParts() throws {
        let jws = try CompactJWS("\(header).\(payload).c2ln")
        #expect(jws.algorithm == "RS256")
        #expect(jws.keyID == "k")
        #expect(Array(jws.signingInput) == Array("\(header).\(payload)".utf8))
        #expect(jws.signature == Array("sig".utf8))
    }

    // MARK: base64url

    @Test func base64URLRoundTripsEveryLength() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            #expect(Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) == bytes)
        }
    }

    @Test func base64URLUsesTheURLAlphabetWithoutPadding() {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode(Array("-_8".utf8)) == [0xFB, 0xFF])
    }

    @Test func base64URLRejectsImpossibleLengthAndStrayBits() {
        #expect(Base64URL.decode(Array("A".utf8)) == nil)
        #expect(Base64URL.decode(Array("AB".utf8)) == nil)  // low bits of B are not zero
        #expect(Base64URL.decode(Array("+/8".utf8)) == nil)
    }

    // MARK: algorithms

    @Test func allowListAcceptsEverySupportedAlgorithm() throws {
        let names = JOSEAlgorithm.allCases.map(\.rawValue)
        #expect(try JOSEAlgorithm.allowList(names) == Set(JOSEAlgorithm.allCases))
    }

    @Test func allowListRefusesNoneAndHMAC() {
        for name in ["none", "HS256", "HS384", "HS512"] {
            #expect(throws: JOSEAlgorithm.AllowListError.refused(name)) {
                try JOSEAlgorithm.allowList(["RS256", name])
            }
        }
    }

    @Test func allowListRefusesUnknownAndEmpty() {
        #expect(throws: JOSEAlgorithm.AllowListError.unknown("EdDSA")) { try JOSEAlgorithm.allowList(["EdDSA"]) }
        #expect(throws: JOSEAlgorithm.AllowListError.empty) { try JOSEAlgorithm.allowList([]) }
    }
}
