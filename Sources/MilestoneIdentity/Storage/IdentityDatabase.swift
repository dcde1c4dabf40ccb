import GRDB
import Logging
package import MilestoneStorage

/// The identity service's SQLite database: versioned migrations, opened like every service's database
/// (`SQLiteDatabase`: WAL, foreign keys, busy timeout, mode 0600).
public struct IdentityDatabase: Sendable {
    let writer: any DatabaseWriter

    public static func open(path: String) throws -> IdentityDatabase {
        try self.open(path: path, configuration: SQLiteDatabaseConfiguration())
    }

    package static func open(path: String, configuration: SQLiteDatabaseConfiguration) throws -> IdentityDatabase {
        IdentityDatabase(writer: try SQLiteDatabase.open(path: path, migrator: Self.migrator, configuration: configuration))
    }

    /// A private in-memory database, for tests.
    public static func inMemory() throws -> IdentityDatabase {
        IdentityDatabase(writer: try SQLiteDatabase.inMemory(migrator: Self.migrator))
    }

    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: SSO configurations") { db in
            try db.create(table: "sso_configuration") { table in
                // "instance", or "org:" and the organization id.
                table.primaryKey("scope", .text)
                table.column("organization_id", .text)
                table.column("provider", .integer).notNull()
                table.column("client_id", .text).notNull()
                table.column("directory_tenant_id", .text).notNull()
                table.column("issuer_url", .text).notNull()
                table.column("enabled", .boolean).notNull()
                // AES-256-GCM: nonce · ciphertext · tag, sealed under `secret_key_id` with the scope as
                // associated data.
                table.column("secret_key_id", .text).notNull()
                table.column("secret", .blob).notNull()
                table.column("secret_hint", .text).notNull()
                table.column("secret_set_at", .integer).notNull()
                table.column("secret_expires_on", .text)
                table.column("created_at", .integer).notNull()
                table.column("updated_at", .integer).notNull()
                table.column("version", .integer).notNull()
            }
            try db.create(index: "sso_configuration_by_organization", on: "sso_configuration", columns: ["organization_id"])
        }
        migrator.registerMigration("v2: sign-in, users, sessions") { db in
            // A sign-in between StartLogin and CompleteLogin (10 minutes), so a restart or another replica
            // can finish it; consumed (deleted) exactly once.
            try db.create(table: "pending_sign_in") { table in
                table.primaryKey("state", .text)
                table.column("tenant_slug", .text).notNull()
                table.column("configuration_scope", .text).notNull()
                table.column("configuration_version", .integer).notNull()
                table.column("nonce", .text).notNull()
                table.column("code_verifier", .text).notNull()
                table.column("redirect_uri", .text).notNull()
                table.column("return_to", .text).notNull()
                table.column("created_at", .integer).notNull()
                table.column("expires_at", .integer).notNull()
            }
            try db.create(index: "pending_sign_in_by_expiry", on: "pending_sign_in", columns: ["expires_at"])
            // Users created just in time; `identity_key` is `entra:{tid}:{oid}` or `oidc:{iss}:{sub}`.
            try db.create(table: "user") { table in
                table.primaryKey("id", .text)
                table.column("tenant_slug", .text).notNull()
                table.column("identity_key", .text).notNull()
                table.column("issuer", .text).notNull()
                table.column("subject", .text).notNull()
                table.column("directory_tenant_id", .text).notNull()
                table.column("email", .text).notNull()
                table.column("name", .text).notNull()
                table.column("preferred_username", .text).notNull()
                table.column("created_at", .integer).notNull()
                table.column("updated_at", .integer).notNull()
                table.column("last_sign_in_at", .integer).notNull()
                table.uniqueKey(["tenant_slug", "identity_key"])
            }
            try db.create(index: "user_by_tenant", on: "user", columns: ["tenant_slug", "id"])
            // Sessions: only the SHA-256 of the token is stored.
            try db.create(table: "session") { table in
                table.primaryKey("id", .text)
                table.column("token_hash", .blob).notNull().unique()
                table.column("user_id", .text).notNull().references("user", onDelete: .cascade)
                table.column("tenant_slug", .text).notNull()
                table.column("created_at", .integer).notNull()
                table.column("expires_at", .integer).notNull()
                table.column("idle_expires_at", .integer).notNull()
                table.column("revoked_at", .integer)
            }
            try db.create(index: "session_by_user", on: "session", columns: ["user_id"])
        }
        return migrator
    }

    /// A write transaction; a busy database becomes UNAVAILABLE ("retry shortly").
    func write<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.writer.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            logger.warning("identity write refused: the database is busy")
            throw IdentityError(.unavailable, "the identity database is busy (another process holds its write lock); retry shortly")
        }
    }

    /// A read; a busy database becomes UNAVAILABLE.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.writer.read(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw IdentityError(.unavailable, "the identity database is busy; retry shortly")
        }
    }
}
