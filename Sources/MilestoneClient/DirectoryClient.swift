public import MilestoneRPC
public import MilestoneRPCNIO
public import MilestoneWire

/// Typed calls to the `milestone.directory.v1.Directory` service. Every method throws ``RPCError``.
public struct DirectoryClient: Sendable {
    public let rpc: RPCClient

    public init(_ rpc: RPCClient) {
        self.rpc = rpc
    }

    // MARK: Organizations

    public func createOrganization(name: String, adminEmail: String, options: CallOptions = .default) async throws -> Organization {
        var request = CreateOrganizationRequest()
        request.name = name
        request.adminEmail = adminEmail
        return try await self.rpc.unary(Directory.createOrganization, request, options: options)
    }

    public func organization(id: String, options: CallOptions = .default) async throws -> Organization {
        var request = GetOrganizationRequest()
        request.id = id
        return try await self.rpc.unary(Directory.getOrganization, request, options: options)
    }

    public func listOrganizations(
        pageSize: Int32 = 0,
        pageToken: String = "",
        namePrefix: String = "",
        options: CallOptions = .default
    ) async throws -> ListOrganizationsResponse {
        var request = ListOrganizationsRequest()
        request.pageSize = pageSize
        request.pageToken = pageToken
        request.namePrefix = namePrefix
        return try await self.rpc.unary(Directory.listOrganizations, request, options: options)
    }

    /// Every organization (all pages), optionally those whose name starts with `namePrefix`.
    public func allOrganizations(namePrefix: String = "", options: CallOptions = .default) async throws -> [Organization] {
        var all: [Organization] = []
        var token = ""
        repeat {
            let page = try await self.listOrganizations(pageSize: 500, pageToken: token, namePrefix: namePrefix, options: options)
            all += page.organizations
            token = page.nextPageToken
        } while !token.isEmpty
        return all
    }

    /// Changes the given fields (nil: unchanged) of the organization at `expectedVersion`.
    public func updateOrganization(
        id: String,
        name: String? = nil,
        adminEmail: String? = nil,
        expectedVersion: UInt64,
        options: CallOptions = .default
    ) async throws -> Organization {
        var request = UpdateOrganizationRequest()
        request.id = id
        request.name = name ?? ""
        request.adminEmail = adminEmail ?? ""
        request.expectedVersion = expectedVersion
        return try await self.rpc.unary(Directory.updateOrganization, request, options: options)
    }

    /// Deletes the organization; returns the tenants it unassigned.
    @discardableResult
    public func deleteOrganization(
        id: String,
        unassignTenants: Bool = false,
        expectedVersion: UInt64 = 0,
        options: CallOptions = .default
    ) async throws -> [String] {
        var request = DeleteOrganizationRequest()
        request.id = id
        request.unassignTenants = unassignTenants
        request.expectedVersion = expectedVersion
        return try await self.rpc.unary(Directory.deleteOrganization, request, options: options).unassignedTenantIDs
    }

    public func setOrganizationTenants(
        organizationID: String,
        tenantIDs: [String],
        moveFromOtherOrganizations: Bool = false,
        options: CallOptions = .default
    ) async throws -> Organization {
        var request = SetOrganizationTenantsRequest()
        request.organizationID = organizationID
        request.tenantIDs = tenantIDs
        request.moveFromOtherOrganizations = moveFromOtherOrganizations
        return try await self.rpc.unary(Directory.setOrganizationTenants, request, options: options)
    }

    public func addTenant(
        organizationID: String,
        tenantID: String,
        moveFromOtherOrganization: Bool = false,
        options: CallOptions = .default
    ) async throws -> Organization {
        var request = AddTenantRequest()
        request.organizationID = organizationID
        request.tenantID = tenantID
        request.moveFromOtherOrganization = moveFromOtherOrganization
        return try await self.rpc.unary(Directory.addTenant, request, options: options)
    }

    public func removeTenant(organizationID: String, tenantID: String, options: CallOptions = .default) async throws -> Organization {
        var request = RemoveTenantRequest()
        request.organizationID = organizationID
        request.tenantID = tenantID
        return try await self.rpc.unary(Directory.removeTenant, request, options: options)
    }

    // MARK: Tenants

    public func createTenant(
        slug: String,
        displayName: String,
        organizationID: String? = nil,
        options: CallOptions = .default
    ) async throws -> Tenant {
        var request = CreateTenantRequest()
        request.slug = slug
        request.displayName = displayName
        request.organizationID = organizationID ?? ""
        return try await self.rpc.unary(Directory.createTenant, request, options: options)
    }

    public func tenant(id: String, options: CallOptions = .default) async throws -> Tenant {
        var request = GetTenantRequest()
        request.id = id
        return try await self.rpc.unary(Directory.getTenant, request, options: options)
    }

    public func listTenants(
        pageSize: Int32 = 0,
        pageToken: String = "",
        organizationID: String = "",
        unassignedOnly: Bool = false,
        slugPrefix: String = "",
        options: CallOptions = .default
    ) async throws -> ListTenantsResponse {
        var request = ListTenantsRequest()
        request.pageSize = pageSize
        request.pageToken = pageToken
        request.organizationID = organizationID
        request.unassignedOnly = unassignedOnly
        request.slugPrefix = slugPrefix
        return try await self.rpc.unary(Directory.listTenants, request, options: options)
    }

    public func updateTenant(
        id: String,
        displayName: String? = nil,
        slug: String? = nil,
        expectedVersion: UInt64,
        options: CallOptions = .default
    ) async throws -> Tenant {
        var request = UpdateTenantRequest()
        request.id = id
        request.displayName = displayName ?? ""
        request.slug = slug ?? ""
        request.expectedVersion = expectedVersion
        return try await self.rpc.unary(Directory.updateTenant, request, options: options)
    }

    public func deleteTenant(id: String, expectedVersion: UInt64 = 0, options: CallOptions = .default) async throws {
        var request = DeleteTenantRequest()
        request.id = id
        request.expectedVersion = expectedVersion
        _ = try await self.rpc.unary(Directory.deleteTenant, request, options: options)
    }

    /// The tenant with `slug` and its organization (nil when it has none).
    public func resolveTenant(slug: String, options: CallOptions = .default) async throws -> (tenant: Tenant, organization: Organization?) {
        var request = ResolveTenantRequest()
        request.slug = slug
        let response = try await self.rpc.unary(Directory.resolveTenant, request, options: options)
        return (response.tenant ?? Tenant(), response.organization)
    }
}
