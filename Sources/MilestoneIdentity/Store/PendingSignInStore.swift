import Foundation
import GRDB
import Logging
import MilestoneCrypto
import Synchronization

/// A sign-in between StartLogin and CompleteLogin.
struct PendingSignIn: Hashable, Sendable {
    var state: String
    /// Empty for the instance.
    var tenantSlug: String
    /// The scope key and version of the SSO configuration it started with.
    var configurationScope: String
    var configurationVersion: Int64
    var nonce: String
    /// The PKCE verifier (its S256 challenge went to the identity provider).
    var codeVerifier: String
    var redirectURI: String
    var returnTo: String
    var createdAt: Int64
    var expiresAt: Int64
}

/// Pending sign-ins in the identity database, so that a restart or another replica can finish them. The
/// PKCE verifier is sealed with the master key (bound to the state), so the file holds no usable secret.
/// Expired ones are dropped as new ones come; at most ``capacity`` may be in progress at once (anyone can
/// start a sign-in, so the table must not grow without bound): past it, StartLogin answers UNAVAILABLE.
struct PendingSignInStore: Sendable {
    let database: IdentityDatabase
    let box: SecretBox
    var capacity = 100_000
    private let inserts = InsertCounter()

    init(database: IdentityDatabase, box: SecretBox) {
        self.database = database
        self.box = box
    }

    /// Records a new pending sign-in, dropping expired ones.
    func insert(_ pending: PendingSignIn, logger: Logger) async throws {
        let sealed = try self.box.seal(Array(pending.codeVerifier.utf8), associatedData: Self.associatedData(pending.state))
        let stored = Data(sealed.combined).base64EncodedString()
        // Counting is cheap (an index) but not free: every 64th insert, and the first.
        let count = self.inserts.value.wrappingAdd(1, ordering: .relaxed).oldValue % 64 == 0
        let capacity = self.capacity
        try await self.database.write(logger: logger) { db in
            try db.execute(sql: "DELETE FROM pending_sign_in WHERE expires_at < ?", arguments: [pending.createdAt])
            if count, try Int.fetchOne(db, sql: "SELECT count(*) FROM pending_sign_in") ?? 0 >= capacity {
                throw IdentityError(.unavailable, "too many sign-ins are in progress (\(capacity) in the last 10 minutes); retry in a few minutes")
            }
            try db.execute(
                sql: """
                    INSERT INTO pending_sign_in (state, tenant_slug, configuration_scope, configuration_version, nonce,
                        code_verifier, redirect_uri, return_to, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    pending.state, pending.tenantSlug, pending.configurationScope, pending.configurationVersion, pending.nonce,
                    stored, pending.redirectURI, pending.returnTo, pending.createdAt, pending.expiresAt,
                ]
            )
        }
    }

    /// Removes and returns the pending sign-in of `state`: a second call with the same state finds nothing,
    /// whichever process makes it.
    func consume(state: String, logger: Logger) async throws -> PendingSignIn? {
        let found = try await self.database.write(logger: logger) { db -> PendingSignIn? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM pending_sign_in WHERE state = ?", arguments: [state]) else {
                return nil
            }
            try db.execute(sql: "DELETE FROM pending_sign_in WHERE state = ?", arguments: [state])
            return PendingSignIn(
                state: row["state"], tenantSlug: row["tenant_slug"], configurationScope: row["configuration_scope"],
                configurationVersion: row["configuration_version"], nonce: row["nonce"], codeVerifier: row["code_verifier"],
                redirectURI: row["redirect_uri"], returnTo: row["return_to"], createdAt: row["created_at"], expiresAt: row["expires_at"]
            )
        }
        guard var found else { return nil }
        guard let bytes = Data(base64Encoded: found.codeVerifier), let sealed = SecretBox.Sealed(combined: Array(bytes)),
            let verifier = try? self.box.open(sealed, associatedData: Self.associatedData(state))
        else {
            throw IdentityError(.failedPrecondition, "this sign-in was started under another master key; start signing in again")
        }
        found.codeVerifier = String(decoding: verifier, as: UTF8.self)
        return found
    }

    static func associatedData(_ state: String) -> [UInt8] {
        Array("milestone.identity.v1 pkce verifier \(state)".utf8)
    }
}

private final class InsertCounter: Sendable {
    let value = Atomic<Int>(0)
}
