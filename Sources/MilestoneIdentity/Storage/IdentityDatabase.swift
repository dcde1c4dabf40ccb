import GRDB
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
        return migrator
    }
}
