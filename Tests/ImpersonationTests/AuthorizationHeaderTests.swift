import HTTPTypes
import Impersonation
import Testing

@Suite struct AuthorizationHeaderTests {
    @Test func bearerTokenIsReadFromAuthorizationHeader() throws {
        let credential = try BearerCredential.extract(from: fields(("Authorization", "Bearer \(sampleToken)")))
        #expect(credential?.token == sampleToken)
        #expect(credential?.source == .authorizationHeader)
        #expect(credential?.webSocketProtocolEdit == .keep)
    }

    @Test(arguments: ["bearer x", "BEARER x", "BeArEr x", "Bearer x"])
    func bearerSchemeIsCaseInsensitive(header: String) throws {
        let credential = try BearerCredential.extract(from: fields(("Authorization", header)))
        #expect(credential?.token == "x")
    }

    @Test func bearerWithoutTokenIsUnauthenticatedNotAnError() throws {
        #expect(try BearerCredential.extract(from: fields(("Authorization", "Bearer"))) == nil)
    }

    @Test(arguments: ["Basic dXNlcjpwYXNz", "Token x", "Bearerx y", "Bear x", "x"])
    func otherSchemesAreUnauthenticatedNotAnError(header: String) throws {
        #expect(try BearerCredential.extract(from: fields(("Authorization", header))) == nil)
    }

    @Test func tabIsNotASeparator() throws {
        #expect(try BearerCredential.extract(from: fields(("Authorization", "Bearer\tx"))) == nil)
    }

    @Test func emptyTokenBetweenTwoSpacesIsInvalid() {
        #expect(throws: CredentialError.emptyBearerToken) {
            try BearerCredential.extract(from: fields(("Authorization", "Bearer  x")))
        }
    }

    @Test(arguments: [("Bearer x y", "x"), ("Bearer x y z", "x"), ("Bearer x  ", "x")])
    func textAfterTheSecondSpaceIsIgnored(header: String, token: String) throws {
        #expect(try BearerCredential.extract(from: fields(("Authorization", header)))?.token == token)
    }

    @Test func noAuthorizationHeaderMeansNoCredential() throws {
        #expect(try BearerCredential.extract(from: fields(("Accept", "application/json"))) == nil)
        #expect(try BearerCredential.extract(from: HTTPFields()) == nil)
    }

    @Test func onlyTheFirstAuthorizationFieldCounts() throws {
        let twoFields = fields(("Authorization", "Basic eA=="), ("Authorization", "Bearer y"))
        #expect(try BearerCredential.extract(from: twoFields) == nil)
        let bearerFirst = fields(("Authorization", "Bearer x"), ("Authorization", "Bearer y"))
        #expect(try BearerCredential.extract(from: bearerFirst)?.token == "x")
    }

    @Test func authorizationHeaderNameIsCaseInsensitive() throws {
        #expect(try BearerCredential.extract(from: fields(("authorization", "Bearer x")))?.token == "x")
        #expect(try BearerCredential.extract(from: fields(("AUTHORIZATION", "Bearer x")))?.token == "x")
    }

    @Test func removingTheCredentialDropsEveryAuthorizationField() throws {
        let request = fields(
            ("Accept", "*/*"), ("Authorization", "Bearer x"), ("User-Agent", "kubectl"), ("authorization", "Basic y")
        )
        let credential = try #require(try BearerCredential.extract(from: request))
        #expect(lines(credential.removed(from: request)) == ["Accept: */*", "User-Agent: kubectl"])
    }

    @Test func credentialDescriptionsNeverShowTheToken() throws {
        let credential = try #require(
            try BearerCredential.extract(from: fields(("Authorization", "Bearer \(sampleToken)")))
        )
        var dumped = ""
        dump(credential, to: &dumped)
        for text in [String(describing: credential), String(reflecting: credential), "\(credential)", dumped] {
            #expect(!text.contains(sampleToken))
            #expect(!text.contains("eyJ"))
        }
    }

    @Test func emptyTokenErrorAnswersUnauthorized() {
        let error = CredentialError.emptyBearerToken
        #expect(error.code == 401)
        #expect(error.reason == .unauthorized)
        #expect(error.message == "Unauthorized")
    }
}
