import GRDB
import MilestoneStorage

/// The directory's SQLite database: versioned migrations, opened like every service's database
/// (`SQLiteDatabase`: WAL, foreign keys, busy timeout, mode 0600).
public struct DirectoryDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database file at `path` and migrates it.
    public static func open(path: String) throws -> DirectoryDatabase {
        DirectoryDatabase(writer: try SQLiteDatabase.open(path: path, migrator: Self.migrator))
    }

    /// A private in-memory database, for tests.
    public static func inMemory() throws -> DirectoryDatabase {
        DirectoryDatabase(writer: try SQLiteDatabase.inMemory(migrator: Self.migrator))
    }

    init(writer: any DatabaseWriter) {
        self.writer = writer
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
        return migrator
    }
}
