public import MilestoneRPC
public import MilestoneWire
import Synchronization

/// A tenant as the identity service needs it: its slug and its organization (id and name).
public struct ResolvedTenant: Hashable, Sendable {
    public var slug: String
    public var organizationID: String?
    public var organizationName: String?

    public init(slug: String, organizationID: String?, organizationName: String?) {
        self.slug = slug
        self.organizationID = organizationID
        self.organizationName = organizationName
    }
}

/// What the identity service asks the directory service: a tenant's organization, and whether an
/// organization exists. Over RPC in production (``RPCTenantDirectory``); anything in tests.
public protocol TenantDirectory: Sendable {
    /// The tenant with `slug` and its organization.
    ///
    /// - Throws: ``IdentityError`` NOT_FOUND for an unknown slug, UNAVAILABLE when the directory does not
    ///   answer.
    func resolve(slug: String) async throws -> ResolvedTenant

    /// The organization with `id`.
    func organization(id: String) async throws -> DirectoryV1.Organization

    /// Every tenant of the organization `id`, by slug.
    func tenants(organizationID id: String) async throws -> [DirectoryV1.Tenant]

    /// The tenant's display name (for the login screen); the slug when the directory has none.
    func displayName(slug: String) async throws -> String
}

extension TenantDirectory {
    public func displayName(slug: String) async throws -> String {
        _ = try await self.resolve(slug: slug)
        return slug
    }
}

/// The directory service over RPC, with the service token, with a short-lived cache of resolved tenants.
public struct RPCTenantDirectory: TenantDirectory {
    private let client: DirectoryV1.Directory.Client
    private let endpoint: String
    private let cache: ResolutionCache
    private let map: TenantMap?

    /// - Parameters:
    ///   - cacheLifetime: how long a resolved tenant is reused (the staleness bound of a tenant's organization).
    ///   - clock: now, for the cache (injectable).
    ///   - map: a warm listing of every tenant, refreshed elsewhere (``TenantMapRefresher``); looked at first.
    public init(
        client: DirectoryV1.Directory.Client,
        endpoint: String,
        cacheLifetime: Duration,
        map: TenantMap? = nil,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.client = client
        self.endpoint = endpoint
        self.cache = ResolutionCache(lifetime: cacheLifetime, clock: clock)
        self.map = map
    }

    public func resolve(slug: String) async throws -> ResolvedTenant {
        if let listed = self.map?.lookup(slug) { return listed }
        if let cached = self.cache.get(slug) { return cached }
        let response = try await self.call { try await self.client.resolveTenant(.init(slug: slug), options: $0) }
        let resolved = ResolvedTenant(
            slug: response.tenant?.slug ?? slug,
            organizationID: response.organization?.id,
            organizationName: response.organization?.name
        )
        self.cache.put(slug, resolved)
        return resolved
    }

    public func displayName(slug: String) async throws -> String {
        let response = try await self.call { try await self.client.resolveTenant(.init(slug: slug), options: $0) }
        guard let tenant = response.tenant else { throw IdentityError(.notFound, "no tenant has slug \(slug)") }
        return tenant.displayName.isEmpty ? tenant.slug : tenant.displayName
    }

    public func organization(id: String) async throws -> DirectoryV1.Organization {
        try await self.call { try await self.client.getOrganization(.init(id: id), options: $0) }
    }

    public func tenants(organizationID id: String) async throws -> [DirectoryV1.Tenant] {
        var tenants: [DirectoryV1.Tenant] = []
        var token = ""
        repeat {
            let page = try await self.call {
                try await self.client.listTenants(.init(pageSize: 500, pageToken: token, organizationID: id), options: $0)
            }
            tenants += page.tenants
            token = page.nextPageToken
        } while !token.isEmpty
        return tenants
    }

    /// Calls the directory within the caller's deadline, leaving time to answer: UNAVAILABLE (retryable) when
    /// it does not answer, NOT_FOUND passed on, anything else INTERNAL.
    private func call<T>(_ body: (CallOptions) async throws -> T) async throws -> T {
        var options = CallOptions()
        let budget: Duration = .seconds(2)
        if let remaining = Deadline.current?.remaining {
            options.timeout = min(budget, remaining * 0.8)
        } else {
            options.timeout = budget
        }
        do {
            return try await body(options)
        } catch let error as RPCError {
            switch error.code {
            case .notFound:
                throw IdentityError(.notFound, error.message)
            case .unavailable, .deadlineExceeded, .cancelled:
                throw IdentityError(
                    .unavailable, "the directory service at \(self.endpoint) does not answer (\(error.code)); retry shortly"
                )
            default:
                throw IdentityError(.internal, "the directory service answered \(error.code): \(error.message)")
            }
        }
    }
}

/// Resolved tenants by slug, each kept for a lifetime. Compact: each organization's id and name are kept
/// once, and a slug's entry is the organization's index and an expiry (about 60 bytes a slug).
final class ResolutionCache: Sendable {
    typealias Entry = ResolvedTenant

    private struct State {
        /// slug → (index into `organizations`, or -1 for none; until when it may be used).
        var entries: [String: (organization: Int32, until: ContinuousClock.Instant)] = [:]
        var organizations: [(id: String, name: String)] = []
        var organizationIndex: [String: Int32] = [:]
    }

    private let lifetime: Duration
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())
    /// Bounds memory: past this many slugs the cache starts over.
    private let capacity = 100_000

    init(lifetime: Duration, clock: @escaping @Sendable () -> ContinuousClock.Instant) {
        self.lifetime = lifetime
        self.clock = clock
    }

    func get(_ slug: String) -> Entry? {
        guard self.lifetime > .zero else { return nil }
        let now = self.clock()
        return self.state.withLock { state in
            guard let found = state.entries[slug] else { return nil }
            if found.until <= now {
                state.entries[slug] = nil
                return nil
            }
            guard found.organization >= 0 else {
                return ResolvedTenant(slug: slug, organizationID: nil, organizationName: nil)
            }
            let organization = state.organizations[Int(found.organization)]
            return ResolvedTenant(slug: slug, organizationID: organization.id, organizationName: organization.name)
        }
    }

    func put(_ slug: String, _ entry: Entry) {
        guard self.lifetime > .zero else { return }
        let until = self.clock() + self.lifetime
        self.state.withLock { state in
            if state.entries.count >= self.capacity {
                state = State()
            }
            var index: Int32 = -1
            if let id = entry.organizationID {
                let name = entry.organizationName ?? id
                if let known = state.organizationIndex[id], state.organizations[Int(known)].name == name {
                    index = known
                } else {
                    index = Int32(state.organizations.count)
                    state.organizations.append((id, name))
                    state.organizationIndex[id] = index
                }
            }
            state.entries[slug] = (index, until)
        }
    }
}
