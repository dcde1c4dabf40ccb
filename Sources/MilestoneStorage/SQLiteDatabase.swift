package import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How every service opens its SQLite database (GRDB over the system libsqlite3), so that file and
/// in-memory databases behave alike: foreign keys on, the same busy timeout, the same pragmas, and the
/// service's migrations applied.
package struct SQLiteDatabaseConfiguration: Sendable {
    /// How long a write waits for another connection's lock before failing (default 5 s).
    package var busyTimeout: Duration
    /// `PRAGMA synchronous` for file databases in WAL mode: NORMAL is durable at checkpoints, fast on
    /// commit (default).
    package var synchronous: String

    /// Reader connections of a file database at most (GRDB's default is 5). Each holds its own page cache.
    package var maximumReaders: Int
    /// `PRAGMA cache_size` of each connection, in KiB (SQLite's default is 2,000 KiB). A service that
    /// answers its hot path from memory needs little.
    package var pageCacheKiB: Int

    package init(busyTimeout: Duration = .seconds(5), synchronous: String = "NORMAL", maximumReaders: Int = 5, pageCacheKiB: Int = 2_000) {
        self.busyTimeout = busyTimeout
        self.synchronous = synchronous
        self.maximumReaders = maximumReaders
        self.pageCacheKiB = pageCacheKiB
    }

    /// The GRDB configuration every connection of a service's database uses.
    package var grdb: Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        let (seconds, attoseconds) = self.busyTimeout.components
        configuration.busyMode = .timeout(Double(seconds) + Double(attoseconds) / 1e18)
        configuration.maximumReaderCount = max(self.maximumReaders, 1)
        return configuration
    }
}

/// Opens services' databases.
package enum SQLiteDatabase {
    /// Opens (creating if needed, mode 0600, as are its `-wal` and `-shm` files, which SQLite creates with
    /// the database file's mode) the database file at `path` in WAL mode, and migrates it.
    package static func open(
        path: String,
        migrator: DatabaseMigrator,
        configuration: SQLiteDatabaseConfiguration = SQLiteDatabaseConfiguration()
    ) throws -> DatabasePool {
        try self.createPrivately(path)
        var grdb = configuration.grdb
        let synchronous = configuration.synchronous
        let pageCacheKiB = configuration.pageCacheKiB
        grdb.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA cache_size = -\(max(pageCacheKiB, 64))")
        }
        // Two processes opening a new database together race to switch it to WAL; SQLite answers the loser
        // "database is locked" without waiting. Retry within the busy timeout, then say what is wrong.
        let deadline = ContinuousClock.now + configuration.busyTimeout
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: grdb)
                try self.migrate(pool, with: migrator)
                return pool
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                guard ContinuousClock.now < deadline else {
                    throw DatabaseError(
                        resultCode: error.resultCode,
                        message: "\(path) stays locked by another process (is another service running on this data folder?)"
                    )
                }
                usleep(20_000)
            }
        }
    }

    /// Applies the migrations another process has not applied already. GRDB reads the applied migrations
    /// before running each one in its own transaction, so two processes migrating a new database together
    /// can both try the first one; the loser fails with "table … already exists" once the winner commits.
    /// A failure while the other process makes progress is therefore retried (reading the applied list
    /// again); a failure with no progress elsewhere is a real one and is thrown.
    private static func migrate(_ pool: DatabasePool, with migrator: DatabaseMigrator) throws {
        while true {
            let appliedBefore = try pool.read { try migrator.appliedIdentifiers($0) }
            do {
                try migrator.migrate(pool)
                return
            } catch {
                if try pool.read({ try migrator.hasCompletedMigrations($0) }) { return }
                let appliedAfter = try pool.read { try migrator.appliedIdentifiers($0) }
                guard appliedAfter.isStrictSuperset(of: appliedBefore) else { throw error }
            }
        }
    }

    /// A private in-memory database with the same settings, for tests.
    package static func inMemory(
        migrator: DatabaseMigrator,
        configuration: SQLiteDatabaseConfiguration = SQLiteDatabaseConfiguration()
    ) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(configuration: configuration.grdb)
        try migrator.migrate(queue)
        return queue
    }

    /// Creates an empty file at `path` with mode 0600 unless one exists.
    private static func createPrivately(_ path: String) throws {
        let descriptor = systemOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            close(descriptor)
            return
        }
        guard errno == EEXIST else {
            throw DatabaseError(resultCode: .SQLITE_CANTOPEN, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}
