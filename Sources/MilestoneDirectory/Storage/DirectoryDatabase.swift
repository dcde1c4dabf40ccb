import Foundation
import GRDB
import MilestoneCrypto
package import MilestoneStorage

/// The directory's SQLite database: versioned migrations, opened like every service's database
/// (`SQLiteDatabase`: WAL, foreign keys, busy timeout, mode 0600).
public struct DirectoryDatabase: Sendable {
    let writer: any DatabaseWriter
    /// Signs page tokens: random per database, made by a migration, so tokens survive restarts and tokens
    /// of another database are refused.
    let pageTokenKey: [UInt8]
    /// ResolveTenant's answers; the store's write transactions invalidate it.
    let resolveCache = ResolveCache()

    /// Opens (creating if needed) the database file at `path` and migrates it.
    public static func open(path: String) throws -> DirectoryDatabase {
        try self.open(path: path, configuration: Self.fileConfiguration)
    }

    /// ResolveTenant, the hot path, is answered from memory (``ResolveCache``): two readers with 1 MiB of
    /// page cache each serve the rest, which keeps the service's memory small (BENCHMARKS.md).
    static let fileConfiguration = SQLiteDatabaseConfiguration(maximumReaders: 2, pageCacheKiB: 1_024)

    /// Opens the database file at `path` with non-default settings (tests: a short busy timeout).
    package static func open(path: String, configuration: SQLiteDatabaseConfiguration) throws -> DirectoryDatabase {
        try DirectoryDatabase(writer: try SQLiteDatabase.open(path: path, migrator: Self.migrator, configuration: configuration))
    }

    /// A private in-memory database, for tests.
    public static func inMemory() throws -> DirectoryDatabase {
        try DirectoryDatabase(writer: try SQLiteDatabase.inMemory(migrator: Self.migrator))
    }

    init(writer: any DatabaseWriter) throws {
        self.writer = writer
        self.pageTokenKey = try writer.read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM directory_secret WHERE name = 'page_token_key'").map(Array.init) ?? []
        }
        guard self.pageTokenKey.count == 32 else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "the page-token key is missing from the directory database")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: organizations and tenants") { db in
            try db.create(table: "organization") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull()
                table.column("name_key", .text).notNull().unique()
                table.column("admin_email", .text).notNull()
                table.column("created_at", .integer).notNull()
                table.column("updated_at", .integer).notNull()
                table.column("version", .integer).notNull()
            }
            try db.create(table: "tenant") { table in
                table.primaryKey("id", .text)
                table.column("slug", .text).notNull().unique()
                table.column("display_name", .text).notNull()
                table.column("organization_id", .text).references("organization", onDelete: .restrict)
                table.column("created_at", .integer).notNull()
                table.column("updated_at", .integer).notNull()
                table.column("version", .integer).notNull()
            }
            try db.create(index: "tenant_by_organization", on: "tenant", columns: ["organization_id", "slug"])
        }
        migrator.registerMigration("v2: page-token key, idempotency ledger, names compared by full case folding") { db in
            try db.create(table: "directory_secret") { table in
                table.primaryKey("name", .text)
                table.column("value", .blob).notNull()
            }
            try db.execute(
                sql: "INSERT INTO directory_secret (name, value) VALUES ('page_token_key', ?)",
                arguments: [Data(try Crypto.randomBytes(32))]
            )
            try db.create(table: "idempotent_request") { table in
                table.primaryKey("key", .text)
                table.column("operation", .text).notNull()
                table.column("fingerprint", .blob).notNull()
                table.column("result", .blob).notNull()
                table.column("created_at", .integer).notNull()
            }
            try db.create(index: "idempotent_request_by_age", on: "idempotent_request", columns: ["created_at"])
            // Names were compared by lowercasing; now by NFC + full case folding ("Straße" = "STRASSE").
            let rows = try Row.fetchAll(db, sql: "SELECT id, name FROM organization")
            for row in rows {
                let name: String = row["name"]
                try db.execute(
                    sql: "UPDATE organization SET name_key = ? WHERE id = ?",
                    arguments: [DirectoryValidation.nameKey(name), row["id"] as String]
                )
            }
        }
        return migrator
    }
}
