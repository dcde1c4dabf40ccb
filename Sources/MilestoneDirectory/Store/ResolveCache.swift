import MilestoneStorage
import Synchronization

/// ResolveTenant's answers kept in memory, so that the hot path reads no database and hops to no
/// database thread.
///
/// **Never stale**, as long as this process is the only writer of the database: every write of
/// ``DirectoryStore`` calls ``beginWrite()`` before its transaction begins and ``endWrite()`` once it has
/// committed or rolled back. `beginWrite` empties the cache and, until `endWrite`, nothing may be added;
/// an answer read from the database is added only if no write began since the lookup that missed (a
/// generation number tells). So an answer from the cache was read after the last committed write.
/// Another process writing the same database file would not be seen: the directory service owns its
/// database (docs/ARCHITECTURE.md).
///
/// **Compact**: records are kept packed back to back in two byte buffers (tenants, organizations), found
/// through an open-addressing table of 4-byte offsets keyed by slug or organization id — about 120 bytes
/// per tenant instead of the kilobyte of Swift strings, arrays and dictionary entries the decoded records
/// take. Answers are unpacked on each hit.
/// Bounded: past `capacity` tenants the cache is emptied and fills again from the database.
final class ResolveCache: Sendable {
    struct Answer: Sendable {
        var tenant: TenantRecord
        var organization: OrganizationSnapshot?
    }

    private struct State {
        var generation: UInt64 = 0
        var writers = 0
        /// Tenants by slug.
        var tenants = PackedTable()
        /// Organizations by id.
        var organizations = PackedTable()

        mutating func removeAll() {
            self.tenants = PackedTable()
            self.organizations = PackedTable()
        }
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 250_000) {
        self.capacity = capacity
    }

    /// What the cache knows of a slug.
    enum Lookup {
        case hit(Answer)
        /// Read the database; pass `generation` to ``fill(slug:_:generation:)`` (nil: a write is running,
        /// do not fill).
        case miss(generation: UInt64?)
    }

    func lookup(slug: String) -> Lookup {
        self.state.withLock { state in
            guard state.writers == 0 else { return .miss(generation: nil) }
            guard let tenant = state.tenants.find(slug, { TenantRecord(slug: slug, unpacking: &$0) }) else {
                return .miss(generation: state.generation)
            }
            guard let organizationID = tenant.organizationID else { return .hit(Answer(tenant: tenant)) }
            guard let organization = state.organizations.find(organizationID, { OrganizationSnapshot(id: organizationID, unpacking: &$0) }) else {
                return .miss(generation: state.generation)
            }
            return .hit(Answer(tenant: tenant, organization: organization))
        }
    }

    /// Adds an answer read from the database, unless a write began since the lookup at `generation`.
    func fill(slug: String, _ answer: Answer, generation: UInt64) {
        self.state.withLock { state in
            guard state.writers == 0, state.generation == generation else { return }
            if state.tenants.count >= self.capacity {
                state.removeAll()
            }
            if let organization = answer.organization {
                guard state.organizations.insert(organization.record.id, { organization.pack(into: &$0) }) else { return }
            }
            _ = state.tenants.insert(slug, { answer.tenant.pack(into: &$0) })
        }
    }

    /// A write transaction is about to change the database: empty the cache and refuse fills.
    func beginWrite() {
        self.state.withLock { state in
            state.writers += 1
            state.generation &+= 1
            state.removeAll()
        }
    }

    /// The write transaction committed or rolled back.
    func endWrite() {
        self.state.withLock { state in
            state.writers -= 1
            state.generation &+= 1
        }
    }

    /// Tenants cached (tests).
    var count: Int {
        self.state.withLock { $0.tenants.count }
    }
}

// MARK: Packing the directory's records

extension TenantRecord {
    /// Packs all but the slug (the table's key).
    func pack(into writer: inout PackedWriter) {
        writer.string(self.id)
        writer.string(self.displayName)
        writer.optionalString(self.organizationID)
        writer.integer(self.createdAt)
        writer.integer(self.updatedAt)
        writer.integer(self.version)
    }

    init(slug: String, unpacking reader: inout PackedReader) {
        let id = reader.string()
        let displayName = reader.string()
        let organizationID = reader.optionalString()
        self.init(
            id: id, slug: slug, displayName: displayName, organizationID: organizationID,
            createdAt: reader.integer(Int64.self), updatedAt: reader.integer(Int64.self), version: reader.integer(Int64.self)
        )
    }
}

extension OrganizationSnapshot {
    /// Packs all but the id (the table's key).
    func pack(into writer: inout PackedWriter) {
        writer.string(self.record.name)
        writer.string(self.record.nameKey)
        writer.string(self.record.adminEmail)
        writer.integer(self.record.createdAt)
        writer.integer(self.record.updatedAt)
        writer.integer(self.record.version)
        writer.integer(UInt32(self.tenantIDs.count))
        for tenantID in self.tenantIDs {
            writer.string(tenantID)
        }
    }

    init(id: String, unpacking reader: inout PackedReader) {
        let name = reader.string()
        let nameKey = reader.string()
        let adminEmail = reader.string()
        let record = OrganizationRecord(
            id: id, name: name, nameKey: nameKey, adminEmail: adminEmail,
            createdAt: reader.integer(Int64.self), updatedAt: reader.integer(Int64.self), version: reader.integer(Int64.self)
        )
        let count = Int(reader.integer(UInt32.self))
        var tenantIDs: [String] = []
        tenantIDs.reserveCapacity(count)
        for _ in 0..<count {
            tenantIDs.append(reader.string())
        }
        self.init(record: record, tenantIDs: tenantIDs)
    }
}
