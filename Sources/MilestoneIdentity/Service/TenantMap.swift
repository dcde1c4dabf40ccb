public import MilestoneRPC
public import MilestoneWire
import MilestoneStorage
import Synchronization

/// Every tenant's organization, listed from the directory in pages and kept warm, so that a sign-in never
/// waits on the directory for a tenant that existed at the last listing. A listing is trusted for the
/// directory cache lifetime after it started; a tenant not in it (created since) is asked for one by one.
public final class TenantMap: Sendable {
    private struct Snapshot {
        /// slug → index into `organizations`, or -1 for none; packed (100,000 tenants take about 3 MB
        /// instead of the 5 MB of a dictionary, and a refresh holds two listings at once).
        var tenants: PackedTable
        var organizations: [(id: String, name: String)]
        var startedAt: ContinuousClock.Instant
    }

    private let snapshot = Mutex<Snapshot?>(nil)
    private let lifetime: Duration
    private let clock: @Sendable () -> ContinuousClock.Instant

    public init(lifetime: Duration, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.lifetime = lifetime
        self.clock = clock
    }

    /// The tenant from the current listing; nil when the listing is missing, too old, or lacks the slug.
    func lookup(_ slug: String) -> ResolvedTenant? {
        let now = self.clock()
        return self.snapshot.withLock { snapshot in
            guard let snapshot, now < snapshot.startedAt + self.lifetime,
                let index = snapshot.tenants.find(slug, { $0.integer(Int32.self) })
            else { return nil }
            guard index >= 0 else { return ResolvedTenant(slug: slug, organizationID: nil, organizationName: nil) }
            let organization = snapshot.organizations[Int(index)]
            return ResolvedTenant(slug: slug, organizationID: organization.id, organizationName: organization.name)
        }
    }

    /// Lists every organization and tenant from the directory and replaces the map with what it found.
    public func refresh(from client: DirectoryV1.Directory.Client) async throws {
        let startedAt = self.clock()
        var organizations: [(id: String, name: String)] = []
        var index: [String: Int32] = [:]
        var token = ""
        repeat {
            let page = try await client.listOrganizations(.init(pageSize: 500, pageToken: token))
            for organization in page.organizations {
                index[organization.id] = Int32(organizations.count)
                organizations.append((organization.id, organization.name))
            }
            token = page.nextPageToken
        } while !token.isEmpty
        var tenants = PackedTable()
        repeat {
            let page = try await client.listTenants(.init(pageSize: 500, pageToken: token))
            for tenant in page.tenants {
                let organization = tenant.organizationID.isEmpty ? -1 : (index[tenant.organizationID] ?? -1)
                _ = tenants.insert(tenant.slug) { $0.integer(Int32(organization)) }
            }
            token = page.nextPageToken
        } while !token.isEmpty
        let fresh = Snapshot(tenants: tenants, organizations: organizations, startedAt: startedAt)
        self.snapshot.withLock { $0 = fresh }
    }

    /// Slugs in the current listing.
    public var count: Int { self.snapshot.withLock { $0?.tenants.count ?? 0 } }
}
