public import GRDB

/// The directory's SQLite database (through GRDB, which links the system libsqlite3): WAL, foreign keys,
/// versioned migrations.
public struct DirectoryDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database file at `path` and migrates it.
    public static func open(path: String) throws -> DirectoryDatabase {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL (DatabasePool's default) with NORMAL sync: durable at checkpoints, fast commits.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return try DirectoryDatabase(writer: DatabasePool(path: path, configuration: configuration))
    }

    /// A private in-memory database, for tests.
    public static func inMemory() throws -> DirectoryDatabase {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        return try DirectoryDatabase(writer: DatabaseQueue(configuration: configuration))
    }

    init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
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
