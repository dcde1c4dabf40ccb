import Foundation
import GRDB
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory's operations and rules on its database. Every mutation is one transaction; SQLite
/// serializes writers, so concurrent conflicting writes leave exactly one winner.
struct DirectoryStore: Sendable {
    let database: DirectoryDatabase
    /// Microseconds since 1970 (injectable for tests).
    let now: @Sendable () -> Int64
    /// The most bytes of organizations one page of ``listOrganizations(pageSize:pageToken:namePrefix:logger:)``
    /// holds (about: their encoded size), so that a page of large organizations still fits in one frame
    /// (4 MiB by default): a page then holds fewer organizations than asked, and a next page token.
    let organizationPageBytes: Int

    /// 1 MiB: a full page of 500 organizations of about 60 tenants each, or one of about 34,000.
    static let defaultOrganizationPageBytes = 1 << 20

    init(
        database: DirectoryDatabase,
        now: @escaping @Sendable () -> Int64 = DirectoryStore.systemNow,
        organizationPageBytes: Int = DirectoryStore.defaultOrganizationPageBytes
    ) {
        self.database = database
        self.now = now
        self.organizationPageBytes = organizationPageBytes
    }

    static let systemNow: @Sendable () -> Int64 = {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }

    // MARK: Organizations

    func createOrganization(name: String, adminEmail: String, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> OrganizationSnapshot {
        let name = try DirectoryValidation.name(name, field: "name")
        let adminEmail = try DirectoryValidation.email(adminEmail)
        let now = self.now()
        let record = OrganizationRecord(
            id: DirectoryIDs.organization(), name: name, nameKey: DirectoryValidation.nameKey(name), adminEmail: adminEmail,
            createdAt: now, updatedAt: now, version: 1
        )
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            try Self.requireUniqueName(db, key: record.nameKey, name: name, except: nil)
            try record.insert(db)
            return OrganizationSnapshot(record: record, tenantIDs: [])
        }
    }

    func organization(id: String, logger: Logger) async throws -> OrganizationSnapshot {
        let id = try DirectoryValidation.id(id, field: "id")
        return try await self.read(#function, logger: logger) { db in try Self.snapshot(db, id: id) }
    }

    func listOrganizations(pageSize: Int32, pageToken: String, namePrefix: String, logger: Logger) async throws -> Page<OrganizationSnapshot> {
        let limit = try DirectoryValidation.pageSize(pageSize)
        let after = pageToken.isEmpty ? nil : try PageToken(decoding: pageToken, key: self.database.pageTokenKey)
        let prefix = DirectoryValidation.nameKey(namePrefix.trimmingWhitespace)
        return try await self.read(#function, logger: logger) { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if !prefix.isEmpty {
                conditions.append("name_key >= ? AND name_key < ?")
                arguments += [prefix, prefix + "\u{10FFFF}"]
            }
            if let after {
                conditions.append("(name_key > ? OR (name_key = ? AND id > ?))")
                arguments += [after.sortKey, after.sortKey, after.id]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let records = try OrganizationRecord.fetchAll(
                db,
                sql: "SELECT * FROM organization \(filter) ORDER BY name_key, id LIMIT ?",
                arguments: arguments + [limit + 1]
            )
            var page = Array(records.prefix(limit))
            let tenants = try Self.tenantIDs(db, organizationIDs: page.map(\.id))
            // Cut where the page would pass its size (always at least one organization).
            var bytes = 0
            var fitting = 0
            for record in page {
                bytes += Self.encodedSizeBound(record, tenantIDs: tenants[record.id] ?? [])
                if fitting > 0, bytes > self.organizationPageBytes { break }
                fitting += 1
            }
            let cut = fitting < page.count
            page.removeLast(page.count - fitting)
            let next = cut || records.count > limit
                ? page.last.map { PageToken(sortKey: $0.nameKey, id: $0.id).encoded(key: self.database.pageTokenKey) } : nil
            return Page(items: page.map { OrganizationSnapshot(record: $0, tenantIDs: tenants[$0.id] ?? []) }, nextPageToken: next)
        }
    }

    /// At least the size of an organization's `Organization` message in a list: its strings, each tenant id
    /// with its tag and length, and 64 bytes for the rest (timestamps, version, tags, the entry's length).
    static func encodedSizeBound(_ record: OrganizationRecord, tenantIDs: [String]) -> Int {
        64 + record.id.utf8.count + record.name.utf8.count + record.adminEmail.utf8.count
            + tenantIDs.reduce(0) { $0 + $1.utf8.count + 6 }
    }

    func updateOrganization(id: String, name: String?, adminEmail: String?, expectedVersion: UInt64, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> OrganizationSnapshot {
        let id = try DirectoryValidation.id(id, field: "id")
        let name = try name.map { try DirectoryValidation.name($0, field: "name") }
        let adminEmail = try adminEmail.map { try DirectoryValidation.email($0) }
        guard expectedVersion > 0 else {
            throw DirectoryError.invalid("expected_version", "is required: send the version you read")
        }
        let now = self.now()
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            var record = try Self.organizationRecord(db, id: id)
            try Self.requireVersion(expectedVersion, of: record.version, what: "organization \(id)")
            if let name {
                try Self.requireUniqueName(db, key: DirectoryValidation.nameKey(name), name: name, except: id)
                record.name = name
                record.nameKey = DirectoryValidation.nameKey(name)
            }
            if let adminEmail { record.adminEmail = adminEmail }
            record.updatedAt = now
            record.version += 1
            try record.update(db)
            return try Self.snapshot(db, id: id)
        }
    }

    /// Deletes an organization; returns the tenants it unassigned.
    func deleteOrganization(id: String, unassignTenants: Bool, expectedVersion: UInt64, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> [String] {
        let id = try DirectoryValidation.id(id, field: "id")
        let now = self.now()
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            let snapshot = try Self.snapshot(db, id: id)
            if expectedVersion != 0 {
                try Self.requireVersion(expectedVersion, of: snapshot.record.version, what: "organization \(id)")
            }
            if !snapshot.tenantIDs.isEmpty {
                guard unassignTenants else {
                    throw DirectoryError(
                        .failedPrecondition,
                        "organization \(id) still has \(snapshot.tenantIDs.count) tenant(s); delete with unassign_tenants to unassign them"
                    )
                }
                try db.execute(
                    sql: "UPDATE tenant SET organization_id = NULL, updated_at = ?, version = version + 1 WHERE organization_id = ?",
                    arguments: [now, id]
                )
            }
            try db.execute(sql: "DELETE FROM organization WHERE id = ?", arguments: [id])
            return snapshot.tenantIDs
        }
    }

    /// Replaces the organization's whole set of tenants, atomically.
    func setOrganizationTenants(organizationID: String, tenantIDs: [String], move: Bool, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> OrganizationSnapshot {
        let organizationID = try DirectoryValidation.id(organizationID, field: "organization_id")
        guard tenantIDs.count <= 10_000 else {
            throw DirectoryError.invalid("tenant_ids", "at most 10000 tenants per call (got \(tenantIDs.count))")
        }
        var unique: [String] = []
        var uniqueSet = Set<String>()
        for id in tenantIDs where uniqueSet.insert(id).inserted {
            unique.append(try DirectoryValidation.id(id, field: "tenant_ids"))
        }
        let wanted = unique
        let seen = uniqueSet
        let now = self.now()
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            _ = try Self.organizationRecord(db, id: organizationID)
            var changed = false
            for tenantID in wanted {
                let tenant = try Self.tenantRecord(db, id: tenantID)
                changed = try Self.assign(db, tenant: tenant, to: organizationID, move: move, now: now) || changed
            }
            let current = try String.fetchAll(db, sql: "SELECT id FROM tenant WHERE organization_id = ?", arguments: [organizationID])
            for tenantID in current where !seen.contains(tenantID) {
                try Self.unassign(db, tenantID: tenantID, now: now)
                changed = true
            }
            if changed {
                try Self.touchOrganization(db, id: organizationID, now: now)
            }
            return try Self.snapshot(db, id: organizationID)
        }
    }

    func addTenant(organizationID: String, tenantID: String, move: Bool, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> OrganizationSnapshot {
        let organizationID = try DirectoryValidation.id(organizationID, field: "organization_id")
        let tenantID = try DirectoryValidation.id(tenantID, field: "tenant_id")
        let now = self.now()
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            _ = try Self.organizationRecord(db, id: organizationID)
            let tenant = try Self.tenantRecord(db, id: tenantID)
            if try Self.assign(db, tenant: tenant, to: organizationID, move: move, now: now) {
                try Self.touchOrganization(db, id: organizationID, now: now)
            }
            return try Self.snapshot(db, id: organizationID)
        }
    }

    func removeTenant(organizationID: String, tenantID: String, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> OrganizationSnapshot {
        let organizationID = try DirectoryValidation.id(organizationID, field: "organization_id")
        let tenantID = try DirectoryValidation.id(tenantID, field: "tenant_id")
        let now = self.now()
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            _ = try Self.organizationRecord(db, id: organizationID)
            let tenant = try Self.tenantRecord(db, id: tenantID)
            if tenant.organizationID == organizationID {
                try Self.unassign(db, tenantID: tenantID, now: now)
                try Self.touchOrganization(db, id: organizationID, now: now)
            } else if let other = tenant.organizationID {
                throw DirectoryError(.failedPrecondition, "tenant \(tenantID) belongs to organization \(other), not \(organizationID)")
            }
            return try Self.snapshot(db, id: organizationID)
        }
    }

    // MARK: Tenants

    func createTenant(slug: String, displayName: String, organizationID: String?, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> TenantRecord {
        let slug = try DirectoryValidation.slug(slug)
        let displayName = try DirectoryValidation.name(displayName, field: "display_name")
        let now = self.now()
        let record = TenantRecord(
            id: DirectoryIDs.tenant(), slug: slug, displayName: displayName, organizationID: nil,
            createdAt: now, updatedAt: now, version: 1
        )
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            try Self.requireUniqueSlug(db, slug, except: nil)
            var record = record
            if let organizationID, !organizationID.isEmpty {
                _ = try Self.organizationRecord(db, id: organizationID)
                record.organizationID = organizationID
                try Self.touchOrganization(db, id: organizationID, now: now)
            }
            try record.insert(db)
            return record
        }
    }

    func tenant(id: String, logger: Logger) async throws -> TenantRecord {
        let id = try DirectoryValidation.id(id, field: "id")
        return try await self.read(#function, logger: logger) { db in try Self.tenantRecord(db, id: id) }
    }

    func listTenants(
        pageSize: Int32,
        pageToken: String,
        organizationID: String,
        unassignedOnly: Bool,
        slugPrefix: String,
        logger: Logger
    ) async throws -> Page<TenantRecord> {
        let limit = try DirectoryValidation.pageSize(pageSize)
        let after = pageToken.isEmpty ? nil : try PageToken(decoding: pageToken, key: self.database.pageTokenKey)
        if unassignedOnly && !organizationID.isEmpty {
            throw DirectoryError.invalid("unassigned_only", "cannot be combined with organization_id")
        }
        return try await self.read(#function, logger: logger) { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if !organizationID.isEmpty {
                _ = try Self.organizationRecord(db, id: organizationID)
                conditions.append("organization_id = ?")
                arguments += [organizationID]
            }
            if unassignedOnly {
                conditions.append("organization_id IS NULL")
            }
            if !slugPrefix.isEmpty {
                conditions.append("slug >= ? AND slug < ?")
                arguments += [slugPrefix, slugPrefix + "\u{10FFFF}"]
            }
            if let after {
                conditions.append("slug > ?")
                arguments += [after.sortKey]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let records = try TenantRecord.fetchAll(
                db,
                sql: "SELECT * FROM tenant \(filter) ORDER BY slug LIMIT ?",
                arguments: arguments + [limit + 1]
            )
            let page = Array(records.prefix(limit))
            let next = records.count > limit ? page.last.map { PageToken(sortKey: $0.slug, id: $0.id).encoded(key: self.database.pageTokenKey) } : nil
            return Page(items: page, nextPageToken: next)
        }
    }

    func updateTenant(id: String, displayName: String?, slug: String?, expectedVersion: UInt64, idempotency: IdempotencyKey? = nil, logger: Logger) async throws -> TenantRecord {
        let id = try DirectoryValidation.id(id, field: "id")
        let displayName = try displayName.map { try DirectoryValidation.name($0, field: "display_name") }
        let slug = try slug.map { try DirectoryValidation.slug($0) }
        guard expectedVersion > 0 else {
            throw DirectoryError.invalid("expected_version", "is required: send the version you read")
        }
        let now = self.now()
        return try await self.write(#function, idempotency: idempotency, logger: logger) { db in
            var record = try Self.tenantRecord(db, id: id)
            try Self.requireVersion(expectedVersion, of: record.version, what: "tenant \(id)")
            if let slug, slug != record.slug {
                try Self.requireUniqueSlug(db, slug, except: id)
                record.slug = slug
            }
            if let displayName { record.displayName = displayName }
            record.updatedAt = now
            record.version += 1
            try record.update(db)
            return record
        }
    }

    func deleteTenant(id: String, expectedVersion: UInt64, idempotency: IdempotencyKey? = nil, logger: Logger) async throws {
        let id = try DirectoryValidation.id(id, field: "id")
        let now = self.now()
        _ = try await self.write(#function, idempotency: idempotency, logger: logger) { db -> Bool in
            let record = try Self.tenantRecord(db, id: id)
            if expectedVersion != 0 {
                try Self.requireVersion(expectedVersion, of: record.version, what: "tenant \(id)")
            }
            if let organizationID = record.organizationID {
                try Self.touchOrganization(db, id: organizationID, now: now)
            }
            try db.execute(sql: "DELETE FROM tenant WHERE id = ?", arguments: [id])
            return true
        }
    }

    /// The tenant with `slug` and its organization when ``ResolveCache`` holds them (nil otherwise: the
    /// database is to be read): synchronous, for the RPC's immediate answer.
    func cachedResolution(slug: String) throws -> (TenantRecord, OrganizationSnapshot?)? {
        guard !slug.isEmpty else { throw DirectoryError.invalid("slug", "is required") }
        guard case .hit(let answer) = self.database.resolveCache.lookup(slug: slug) else { return nil }
        return (answer.tenant, answer.organization)
    }

    /// The tenant with `slug` and its organization: the hot path, answered from ``ResolveCache`` when it
    /// can (no database read, no thread hop), from the database otherwise.
    ///
    /// The logger is made only when the database is read (a cache hit logs nothing and pays nothing for
    /// the call's logger).
    func resolveTenant(slug: String, logger: @autoclosure () -> Logger) async throws -> (TenantRecord, OrganizationSnapshot?) {
        guard !slug.isEmpty else { throw DirectoryError.invalid("slug", "is required") }
        let cache = self.database.resolveCache
        let generation: UInt64?
        switch cache.lookup(slug: slug) {
        case .hit(let answer):
            return (answer.tenant, answer.organization)
        case .miss(let missed):
            generation = missed
        }
        let answer = try await self.read(#function, logger: logger()) { db in
            let statement = try db.cachedStatement(sql: "SELECT * FROM tenant WHERE slug = ?")
            guard let tenant = try TenantRecord.fetchOne(statement, arguments: [slug]) else {
                throw DirectoryError(.notFound, "no tenant has the slug \"\(slug.prefix(70))\"")
            }
            let organization = try tenant.organizationID.map { try Self.snapshot(db, id: $0) }
            return ResolveCache.Answer(tenant: tenant, organization: organization)
        }
        if let generation {
            cache.fill(slug: slug, answer, generation: generation)
        }
        return (answer.tenant, answer.organization)
    }

    // MARK: Helpers (inside transactions)

    /// Runs `body` in one write transaction; logs the commit with the caller's request metadata.
    ///
    /// With an idempotency key, the transaction first looks the key up: a key seen before (within
    /// ``idempotencyWindow``) with the same request returns the result recorded then, and `body` does not run;
    /// the same key with another request is refused. Otherwise the result is recorded with the key in the same
    /// transaction as the change, so a retry can never apply it twice.
    private func write<T: Codable & Sendable>(
        _ operation: String,
        idempotency: IdempotencyKey?,
        logger: Logger,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        let name = String(operation.prefix { $0 != "(" })
        let now = self.now()
        // From before the transaction begins until after it has committed or rolled back, ResolveTenant's
        // cache is empty and takes no answers: it can never hold what this transaction changes.
        let cache = self.database.resolveCache
        cache.beginWrite()
        defer { cache.endWrite() }
        do {
            let (result, replayed) = try await self.database.writer.write { db -> (T, Bool) in
                guard let idempotency else { return (try body(db), false) }
                if let recorded = try IdempotencyLedger.recorded(db, key: idempotency, operation: name, now: now) {
                    return (try JSONDecoder().decode(T.self, from: recorded), true)
                }
                let result = try body(db)
                try IdempotencyLedger.record(db, key: idempotency, operation: name, result: try JSONEncoder().encode(result), now: now)
                return (result, false)
            }
            logger.debug(replayed ? "directory write replayed (idempotency key seen before)" : "directory write committed", metadata: ["operation": "\(name)"])
            return result
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw DirectoryError(.alreadyExists, "a concurrent change took the same name or slug; retry")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            logger.warning("directory write refused: the database is busy", metadata: ["operation": "\(name)"])
            throw DirectoryError.databaseBusy
        } catch let error as DatabaseError {
            logger.error("directory write failed", metadata: ["operation": "\(name)", "error": "\(error)"])
            throw error
        }
    }

    private func read<T: Sendable>(
        _ operation: String,
        logger: Logger,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        logger.trace("directory read", metadata: ["operation": "\(operation.prefix { $0 != "(" })"])
        do {
            return try await self.database.writer.read(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw DirectoryError.databaseBusy
        }
    }

    private static func organizationRecord(_ db: Database, id: String) throws -> OrganizationRecord {
        let statement = try db.cachedStatement(sql: "SELECT * FROM organization WHERE id = ?")
        guard let record = try OrganizationRecord.fetchOne(statement, arguments: [id]) else {
            throw DirectoryError.organizationNotFound(id)
        }
        return record
    }

    private static func tenantRecord(_ db: Database, id: String) throws -> TenantRecord {
        let statement = try db.cachedStatement(sql: "SELECT * FROM tenant WHERE id = ?")
        guard let record = try TenantRecord.fetchOne(statement, arguments: [id]) else {
            throw DirectoryError.tenantNotFound(id)
        }
        return record
    }

    private static func snapshot(_ db: Database, id: String) throws -> OrganizationSnapshot {
        let record = try self.organizationRecord(db, id: id)
        let tenants = try String.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM tenant WHERE organization_id = ? ORDER BY slug"),
            arguments: [id]
        )
        return OrganizationSnapshot(record: record, tenantIDs: tenants)
    }

    private static func tenantIDs(_ db: Database, organizationIDs: [String]) throws -> [String: [String]] {
        guard !organizationIDs.isEmpty else { return [:] }
        let placeholders = Array(repeating: "?", count: organizationIDs.count).joined(separator: ",")
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT id, organization_id FROM tenant WHERE organization_id IN (\(placeholders)) ORDER BY slug",
            arguments: StatementArguments(organizationIDs)
        )
        var result: [String: [String]] = [:]
        for row in rows {
            result[row["organization_id"], default: []].append(row["id"])
        }
        return result
    }

    /// Puts `tenant` into `organizationID`; returns whether anything changed.
    private static func assign(_ db: Database, tenant: TenantRecord, to organizationID: String, move: Bool, now: Int64) throws -> Bool {
        if tenant.organizationID == organizationID { return false }
        if let other = tenant.organizationID {
            guard move else {
                throw DirectoryError(
                    .failedPrecondition,
                    "tenant \(tenant.slug) (\(tenant.id)) belongs to organization \(other); set the move flag to move it"
                )
            }
            try Self.touchOrganization(db, id: other, now: now)
        }
        var tenant = tenant
        tenant.organizationID = organizationID
        tenant.updatedAt = now
        tenant.version += 1
        try tenant.update(db)
        return true
    }

    /// Records a change to an organization's tenants: new `updated_at`, version + 1.
    private static func touchOrganization(_ db: Database, id: String, now: Int64) throws {
        try db.execute(
            sql: "UPDATE organization SET updated_at = ?, version = version + 1 WHERE id = ?",
            arguments: [now, id]
        )
    }

    /// Takes a tenant out of its organization (the caller touches the organization).
    private static func unassign(_ db: Database, tenantID: String, now: Int64) throws {
        try db.execute(
            sql: "UPDATE tenant SET organization_id = NULL, updated_at = ?, version = version + 1 WHERE id = ?",
            arguments: [now, tenantID]
        )
    }

    private static func requireUniqueName(_ db: Database, key: String, name: String, except id: String?) throws {
        let existing = try String.fetchOne(db, sql: "SELECT id FROM organization WHERE name_key = ?", arguments: [key])
        if let existing, existing != id {
            throw DirectoryError(.alreadyExists, "an organization named \"\(name)\" already exists (\(existing))")
        }
    }

    private static func requireUniqueSlug(_ db: Database, _ slug: String, except id: String?) throws {
        let existing = try String.fetchOne(db, sql: "SELECT id FROM tenant WHERE slug = ?", arguments: [slug])
        if let existing, existing != id {
            throw DirectoryError(.alreadyExists, "the slug \"\(slug)\" is taken (\(existing))")
        }
    }

    private static func requireVersion(_ expected: UInt64, of current: Int64, what: String) throws {
        guard Int64(clamping: expected) == current else {
            throw DirectoryError(.aborted, "\(what) is at version \(current), not \(expected): re-read it and retry")
        }
    }
}
