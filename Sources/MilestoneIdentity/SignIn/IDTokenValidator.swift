import Foundation
import MilestoneCrypto

/// What an ID token must say to be accepted.
struct IDTokenExpectations: Sendable {
    var provider: SSOProvider
    /// The discovery document's issuer; Entra's `{tenantid}` is filled from the token's `tid`.
    var issuer: String
    var clientID: String
    var nonce: String
    /// Entra: the directory tenant's GUID the token's `tid` must equal.
    var directoryTenantID: String?
}

/// Validates ID tokens: RS256 only, the key by `kid` from the JWKS cache, then `iss`, `aud`, `azp`, `exp`, `nbf`,
/// `iat` (within `skew`), `nonce`, and for Entra `tid` and `oid`.
struct IDTokenValidator: Sendable {
    let keys: JWKSCache
    /// Allowed clock difference with the identity provider (default 5 minutes).
    var skew: Duration = .seconds(300)

    func validate(_ text: String, jwksURI: String, expecting expected: IDTokenExpectations, now: Int64) async throws -> VerifiedIdentity {
        let token = try IDToken(text)
        guard token.header.algorithm == "RS256" else {
            throw IDTokenError.claim("algorithm", "is \(token.header.algorithm.prefix(20)); only RS256 is accepted")
        }
        let kid = token.header.keyID.flatMap { $0.isEmpty ? nil : $0 }
        let key = try await self.keys.key(kid, url: jwksURI, now: now)
        guard key.verifySHA256(signature: token.signature, message: token.signingInput) else {
            throw IDTokenError.claim("signature", "does not verify with the identity provider's key \(kid?.prefix(64) ?? "")")
        }
        // Signed by the provider: now its claims.
        let tid = token.string("tid")
        let issuer = expected.issuer.replacingOccurrences(of: "{tenantid}", with: tid ?? "{tenantid}")
        guard let iss = token.string("iss"), iss == issuer else {
            throw IDTokenError.claim("issuer (iss)", "is not \(issuer)")
        }
        guard token.audiences.contains(expected.clientID) else {
            throw IDTokenError.claim("audience (aud)", "does not include the client id \(expected.clientID)")
        }
        // OpenID Connect Core 3.1.3.7: the authorized party, when named, is this client.
        if let azp = token.string("azp"), azp != expected.clientID {
            throw IDTokenError.claim("authorized party (azp)", "is not the client id \(expected.clientID)")
        }
        let seconds = Double(now) / 1_000_000
        let skew = Double(self.skew.components.seconds)
        guard let exp = token.number("exp") else { throw IDTokenError.claim("expiry (exp)", "is missing") }
        guard exp + skew > seconds else { throw IDTokenError.claim("expiry (exp)", "has passed: the token expired") }
        if let nbf = token.number("nbf"), nbf - skew > seconds {
            throw IDTokenError.claim("not-before (nbf)", "is in the future: check the clocks")
        }
        guard let iat = token.number("iat") else { throw IDTokenError.claim("issued-at (iat)", "is missing") }
        guard iat - skew <= seconds else { throw IDTokenError.claim("issued-at (iat)", "is in the future: check the clocks") }
        guard let nonce = token.string("nonce") else { throw IDTokenError.claim("nonce", "is missing") }
        guard Crypto.constantTimeEqual(Array(nonce.utf8), Array(expected.nonce.utf8)) else {
            throw IDTokenError.claim("nonce", "does not match this sign-in's")
        }
        // Profile claims are shown and stored: no control characters, bounded.
        func profile(_ name: String) -> String {
            String(String((token.string(name) ?? "").unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }).prefix(256))
        }
        let email = profile("email")
        let name = profile("name")
        let preferredUsername = profile("preferred_username")
        func identifier(_ value: String?, _ claim: String) throws -> String? {
            guard let value else { return nil }
            guard value.utf8.count <= 256, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw IDTokenError.claim(claim, "is not a valid identifier")
            }
            return value
        }
        switch expected.provider {
        case .entraID:
            guard let tid = try identifier(tid, "tenant (tid)"), !tid.isEmpty else { throw IDTokenError.claim("tenant (tid)", "is missing") }
            if let expectedTID = expected.directoryTenantID, tid.lowercased() != expectedTID.lowercased() {
                throw IDTokenError.claim("tenant (tid)", "is \(tid.prefix(64)), not the configured directory tenant \(expectedTID)")
            }
            guard let oid = try identifier(token.string("oid"), "object id (oid)"), !oid.isEmpty else { throw IDTokenError.claim("object id (oid)", "is missing") }
            return VerifiedIdentity(
                identityKey: "entra:\(tid.lowercased()):\(oid.lowercased())", issuer: iss, subject: oid.lowercased(),
                directoryTenantID: tid.lowercased(), email: email, name: name, preferredUsername: preferredUsername
            )
        case .oidc:
            guard let sub = try identifier(token.string("sub"), "subject (sub)"), !sub.isEmpty else { throw IDTokenError.claim("subject (sub)", "is missing") }
            return VerifiedIdentity(
                identityKey: "oidc:\(iss):\(sub)", issuer: iss, subject: sub, directoryTenantID: "",
                email: email, name: name, preferredUsername: preferredUsername
            )
        }
    }
}
