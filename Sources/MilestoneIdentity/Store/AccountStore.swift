import Foundation
import GRDB
import Logging
import MilestoneCrypto
import MilestoneRPC
import Synchronization

/// A person as the identity provider vouched for them.
public struct UserRecord: Hashable, Sendable {
    public var id: String
    public var tenantSlug: String
    public var issuer: String
    public var subject: String
    public var directoryTenantID: String
    public var email: String
    public var name: String
    public var preferredUsername: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var lastSignInAt: Int64

    init(row: Row) {
        self.id = row["id"]
        self.tenantSlug = row["tenant_slug"]
        self.issuer = row["issuer"]
        self.subject = row["subject"]
        self.directoryTenantID = row["directory_tenant_id"]
        self.email = row["email"]
        self.name = row["name"]
        self.preferredUsername = row["preferred_username"]
        self.createdAt = row["created_at"]
        self.updatedAt = row["updated_at"]
        self.lastSignInAt = row["last_sign_in_at"]
    }
}

/// A session, without its token.
public struct SessionRecord: Hashable, Sendable {
    public var id: String
    public var userID: String
    public var tenantSlug: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var idleExpiresAt: Int64
}

/// What a validated ID token says about the person signing in.
struct VerifiedIdentity: Hashable, Sendable {
    /// `entra:{tid}:{oid}` or `oidc:{iss}:{sub}`: the user's key within a tenant; never the email.
    var identityKey: String
    var issuer: String
    var subject: String
    var directoryTenantID: String
    var email: String
    var name: String
    var preferredUsername: String
}

/// How long sessions live.
public struct SessionPolicy: Hashable, Sendable {
    /// From sign-in to the end, whatever the use (default 12 h).
    public var absoluteLifetime: Duration
    /// Without use (default 1 h); each validation slides it.
    public var idleLifetime: Duration
    /// A validation writes the slid idle expiry only when it moves by more than this (default 60 s), so
    /// most validations are reads.
    public var slideGranularity: Duration

    /// How long a session read from the database is trusted in memory before it is read again (default
    /// 10 s): the bound on how late a revocation by another process sharing the database is seen. This
    /// process's own revocations apply at once.
    public var cacheLifetime: Duration
    /// Sessions kept in memory at most (default 20,000, about 6 MB; past it the copy starts over; 0 turns it
    /// off).
    public var cacheCapacity: Int

    public init(
        absoluteLifetime: Duration = .seconds(12 * 3600), idleLifetime: Duration = .seconds(3600), slideGranularity: Duration = .seconds(60),
        cacheLifetime: Duration = .seconds(10), cacheCapacity: Int = 20_000
    ) {
        self.absoluteLifetime = absoluteLifetime
        self.idleLifetime = idleLifetime
        self.slideGranularity = slideGranularity
        self.cacheLifetime = cacheLifetime
        self.cacheCapacity = cacheCapacity
    }

    var absoluteMicros: Int64 { self.absoluteLifetime.microseconds }
    var idleMicros: Int64 { self.idleLifetime.microseconds }
    var slideMicros: Int64 { self.slideGranularity.microseconds }
    var cacheMicros: Int64 { self.cacheLifetime.microseconds }

}

/// Users (created just in time) and their sessions.
///
/// Validation, on every request of a signed-in person, reads an in-memory copy of the sessions it has seen
/// (by token hash, with their user), which this store's own writes (sign-in, slide, revoke, profile update)
/// keep current in the same step as they commit: never stale while one process owns the database (the
/// embedded default). Entries are read again from the database after ``SessionPolicy/cacheLifetime`` (10 s),
/// which bounds how long a revocation made by another process sharing the database goes unseen.
struct AccountStore: Sendable {
    let database: IdentityDatabase
    let policy: SessionPolicy
    private let cache: SessionCache

    init(database: IdentityDatabase, policy: SessionPolicy) {
        self.database = database
        self.policy = policy
        self.cache = SessionCache(capacity: policy.cacheCapacity)
    }

    /// Creates or updates the user `identity` names in `tenantSlug` and opens a session for them, in one
    /// transaction. Returns the user, whether it was created, and the session.
    func signIn(
        _ identity: VerifiedIdentity, tenantSlug: String, tokenHash: [UInt8], now: Int64, logger: Logger
    ) async throws -> (user: UserRecord, created: Bool, session: SessionRecord) {
        let policy = self.policy
        let newUserID = "usr_" + randomHex(bytes: 12)
        let sessionID = "ses_" + randomHex(bytes: 12)
        let result = try await self.database.write(logger: logger) { db in
            var created = false
            if let existing = try Row.fetchOne(
                db, sql: "SELECT id FROM user WHERE tenant_slug = ? AND identity_key = ?", arguments: [tenantSlug, identity.identityKey]
            ) {
                let id: String = existing["id"]
                try db.execute(
                    sql: "UPDATE user SET email = ?, name = ?, preferred_username = ?, updated_at = ?, last_sign_in_at = ? WHERE id = ?",
                    arguments: [identity.email, identity.name, identity.preferredUsername, now, now, id]
                )
            } else {
                created = true
                try db.execute(
                    sql: """
                        INSERT INTO user (id, tenant_slug, identity_key, issuer, subject, directory_tenant_id, email, name,
                            preferred_username, created_at, updated_at, last_sign_in_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        newUserID, tenantSlug, identity.identityKey, identity.issuer, identity.subject, identity.directoryTenantID,
                        identity.email, identity.name, identity.preferredUsername, now, now, now,
                    ]
                )
            }
            let user = try Row.fetchOne(
                db, sql: "SELECT * FROM user WHERE tenant_slug = ? AND identity_key = ?", arguments: [tenantSlug, identity.identityKey]
            ).map(UserRecord.init(row:))!
            let session = SessionRecord(
                id: sessionID, userID: user.id, tenantSlug: tenantSlug, createdAt: now,
                expiresAt: now + policy.absoluteMicros, idleExpiresAt: min(now + policy.idleMicros, now + policy.absoluteMicros)
            )
            try db.execute(
                sql: "INSERT INTO session (id, token_hash, user_id, tenant_slug, created_at, expires_at, idle_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [session.id, Data(tokenHash), user.id, tenantSlug, now, session.expiresAt, session.idleExpiresAt]
            )
            return (user: user, created: created, session: session)
        }
        self.cache.updateUser(result.user)
        self.cache.put(tokenHash, user: result.user, session: result.session, readAt: now)
        return result
    }

    /// The live session whose token hashes to `tokenHash`, and its user; slides the idle expiry. Nil for an
    /// unknown, revoked or expired session.
    /// The logger is made only when the slide is written (most validations log nothing).
    func validate(tokenHash: [UInt8], now: Int64, logger: @autoclosure () -> Logger) async throws -> (user: UserRecord, session: SessionRecord)? {
        let policy = self.policy
        var found: (user: UserRecord, session: SessionRecord)
        switch self.cache.get(tokenHash, now: now, lifetime: policy.cacheMicros) {
        case .revoked:
            return nil
        case .live(let user, let session):
            found = (user, session)
        case .miss:
            // A revocation committing while this read runs must win: the copy is installed only if none
            // happened meanwhile, otherwise the row is read again (it then shows the revocation).
            var attempt = 0
            while true {
                attempt += 1
                let generation = self.cache.generation
                guard let read = try await self.read(tokenHash: tokenHash) else { return nil }
                if read.revoked {
                    return nil
                }
                if self.cache.put(tokenHash, user: read.user, session: read.session, readAt: now, ifUnchangedSince: generation) || attempt >= 2 {
                    found = (read.user, read.session)
                    break
                }
            }
        }
        guard found.session.expiresAt > now, found.session.idleExpiresAt > now else { return nil }
        let slid = min(now + policy.idleMicros, found.session.expiresAt)
        if slid - found.session.idleExpiresAt > policy.slideMicros {
            let id = found.session.id
            try await self.database.write(logger: logger()) { db in
                try db.execute(
                    sql: "UPDATE session SET idle_expires_at = max(idle_expires_at, ?) WHERE id = ? AND revoked_at IS NULL",
                    arguments: [slid, id]
                )
            }
            found.session.idleExpiresAt = slid
            self.cache.slide(tokenHash, to: slid)
        }
        return found
    }

    private func read(tokenHash: [UInt8]) async throws -> (user: UserRecord, session: SessionRecord, revoked: Bool)? {
        try await self.database.read { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT s.id AS session_id, s.tenant_slug AS session_tenant, s.created_at AS session_created,
                        s.expires_at AS session_expires, s.idle_expires_at AS session_idle, s.revoked_at AS session_revoked, u.*
                    FROM session s JOIN user u ON u.id = s.user_id WHERE s.token_hash = ?
                    """,
                arguments: [Data(tokenHash)]
            ) else { return nil }
            let revokedAt: Int64? = row["session_revoked"]
            let session = SessionRecord(
                id: row["session_id"], userID: row["id"], tenantSlug: row["session_tenant"], createdAt: row["session_created"],
                expiresAt: row["session_expires"], idleExpiresAt: row["session_idle"]
            )
            return (UserRecord(row: row), session, revokedAt != nil)
        }
    }

    /// Revokes the live session whose token hashes to `tokenHash` (or whose id is `id`); false when there
    /// was none.
    func revoke(tokenHash: [UInt8]? = nil, id: String? = nil, now: Int64, logger: Logger) async throws -> Bool {
        let (revoked, hash) = try await self.database.write(logger: logger) { db -> (Bool, [UInt8]?) in
            let hash: [UInt8]?
            if let tokenHash {
                hash = tokenHash
            } else {
                hash = try Data.fetchOne(db, sql: "SELECT token_hash FROM session WHERE id = ?", arguments: [id ?? ""]).map { Array($0) }
            }
            guard let hash else { return (false, nil) }
            try db.execute(sql: "UPDATE session SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL", arguments: [now, Data(hash)])
            return (db.changesCount > 0, hash)
        }
        if let hash { self.cache.markRevoked(hash, readAt: now) }
        return revoked
    }

    /// Revokes every live session of `userID`; returns how many. NOT_FOUND for an unknown user.
    func revokeAll(userID: String, now: Int64, logger: Logger) async throws -> Int {
        let count = try await self.database.write(logger: logger) { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM user WHERE id = ?", arguments: [userID]) != nil else {
                throw IdentityError(.notFound, "no user has id \(userID)")
            }
            try db.execute(
                sql: "UPDATE session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                arguments: [now, userID, now]
            )
            return db.changesCount
        }
        self.cache.revokeUser(userID, readAt: now)
        return count
    }

    func user(id: String) async throws -> UserRecord? {
        try await self.database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM user WHERE id = ?", arguments: [id]).map(UserRecord.init(row:))
        }
    }

    /// Up to `limit` users of `tenantSlug` after `afterID` (ordered by id), and whether more follow.
    func users(tenantSlug: String, afterID: String, limit: Int) async throws -> (users: [UserRecord], more: Bool) {
        let rows = try await self.database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM user WHERE tenant_slug = ? AND id > ? ORDER BY id LIMIT ?",
                arguments: [tenantSlug, afterID, limit + 1]
            ).map(UserRecord.init(row:))
        }
        return (Array(rows.prefix(limit)), rows.count > limit)
    }
}

/// Sessions seen by validation, by token hash, with their user: bounded (past `capacity` it starts over),
/// entries trusted for a lifetime after they were read.
final class SessionCache: Sendable {
    enum Lookup {
        case live(UserRecord, SessionRecord)
        case revoked
        case miss
    }

    /// A token's SHA-256 as four words: hashed and compared in four steps, not byte by byte.
    private struct Key: Hashable {
        var words: (UInt64, UInt64, UInt64, UInt64)

        init(_ digest: [UInt8]) {
            precondition(digest.count == 32, "a session token's hash is a SHA-256 digest")
            self.words = digest.withUnsafeBytes { raw in
                (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                 raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            }
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(self.words.0)
            hasher.combine(self.words.1)
            hasher.combine(self.words.2)
            hasher.combine(self.words.3)
        }
    }

    private struct Entry {
        var user: UserRecord
        var session: SessionRecord
        var revoked: Bool
        var readAt: Int64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// user id → the token hashes of their cached sessions.
        var byUser: [String: Set<Key>] = [:]
        /// Counts revocations, so that a read that raced one is not installed.
        var generation = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func get(_ tokenHash: [UInt8], now: Int64, lifetime: Int64) -> Lookup {
        let hash = Key(tokenHash)
        return self.state.withLock { state in
            guard let entry = state.entries[hash], now - entry.readAt < lifetime else { return .miss }
            return entry.revoked ? .revoked : .live(entry.user, entry.session)
        }
    }

    var generation: Int { self.state.withLock { $0.generation } }

    /// Installs a session read from the database (or just created); false when a revocation happened since
    /// `generation` was taken (then nothing is installed).
    @discardableResult
    func put(_ tokenHash: [UInt8], user: UserRecord, session: SessionRecord, readAt: Int64, ifUnchangedSince generation: Int? = nil) -> Bool {
        let hash = Key(tokenHash)
        return self.state.withLock { state in
            if let generation, generation != state.generation { return false }
            guard self.capacity > 0 else { return true }
            if state.entries.count >= self.capacity {
                let kept = state.generation
                state = State()
                state.generation = kept
            }
            state.entries[hash] = Entry(user: user, session: session, revoked: false, readAt: readAt)
            state.byUser[user.id, default: []].insert(hash)
            return true
        }
    }

    func slide(_ tokenHash: [UInt8], to idleExpiresAt: Int64) {
        let hash = Key(tokenHash)
        self.state.withLock { state in
            if state.entries[hash] != nil { state.entries[hash]!.session.idleExpiresAt = max(state.entries[hash]!.session.idleExpiresAt, idleExpiresAt) }
        }
    }

    func markRevoked(_ tokenHash: [UInt8], readAt: Int64) {
        let hash = Key(tokenHash)
        self.state.withLock { state in
            state.generation += 1
            if state.entries[hash] != nil {
                state.entries[hash]!.revoked = true
                state.entries[hash]!.readAt = readAt
            }
        }
    }

    func revokeUser(_ userID: String, readAt: Int64) {
        self.state.withLock { state in
            state.generation += 1
            for hash in state.byUser[userID] ?? [] where state.entries[hash] != nil {
                state.entries[hash]!.revoked = true
                state.entries[hash]!.readAt = readAt
            }
        }
    }

    /// A user's profile changed (a later sign-in): their cached sessions show the new one.
    func updateUser(_ user: UserRecord) {
        self.state.withLock { state in
            for hash in state.byUser[user.id] ?? [] where state.entries[hash] != nil {
                state.entries[hash]!.user = user
            }
        }
    }
}

extension Duration {
    /// Whole microseconds: the unit of the identity database's timestamps.
    var microseconds: Int64 {
        self.components.seconds * 1_000_000 + self.components.attoseconds / 1_000_000_000_000
    }
}
