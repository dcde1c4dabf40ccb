public import MilestoneRPC
public import MilestoneWire
import MilestoneCrypto

/// The `milestone.directory.v1.Directory` RPC service: turns each request into a store operation (which
/// validates it) and the result into its response. Store errors become statuses in one place
/// (`DirectoryError+RPC.swift`). Mutations need the admin role; reads accept service too.
public struct DirectoryService: DirectoryV1.Directory.ServiceProtocol {
    let store: DirectoryStore

    public init(database: DirectoryDatabase) {
        self.store = DirectoryStore(database: database)
    }

    init(store: DirectoryStore) {
        self.store = store
    }

    /// The call's `idempotency-key`, with a fingerprint of the method and request; nil without one.
    static func idempotencyKey(_ request: some WireMessage, _ context: ServerContext) throws -> IdempotencyKey? {
        guard let key = context.requestMetadata[Metadata.Keys.idempotencyKey] else { return nil }
        guard Metadata.isSafeIdentifier(key) else {
            throw RPCError(
                code: .invalidArgument,
                message: "idempotency-key: must be 1-128 letters, digits, '.', '_', ':' or '-'"
            )
        }
        let bytes = Array(context.method.utf8) + [0] + (try request.wireBytes())
        return IdempotencyKey(key: key, fingerprint: Crypto.sha256(bytes))
    }

    public func access(for method: DirectoryV1.Directory.Method) -> MethodAccess {
        switch method {
        case .getOrganization, .listOrganizations, .getTenant, .listTenants, .resolveTenant:
            .adminOrService
        case .createOrganization, .updateOrganization, .deleteOrganization, .setOrganizationTenants, .addTenant,
            .removeTenant, .createTenant, .updateTenant, .deleteTenant:
            .adminOnly
        }
    }

    // MARK: Organizations

    public func createOrganization(
        _ request: DirectoryV1.CreateOrganizationRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Organization {
        DirectoryV1.Organization(
            try await self.store.createOrganization(name: request.name, adminEmail: request.adminEmail, idempotency: try Self.idempotencyKey(request, context), logger: context.logger)
        )
    }

    public func getOrganization(
        _ request: DirectoryV1.GetOrganizationRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Organization {
        DirectoryV1.Organization(try await self.store.organization(id: request.id, logger: context.logger))
    }

    public func listOrganizations(
        _ request: DirectoryV1.ListOrganizationsRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.ListOrganizationsResponse {
        let page = try await self.store.listOrganizations(
            pageSize: request.pageSize, pageToken: request.pageToken, namePrefix: request.namePrefix, logger: context.logger
        )
        return DirectoryV1.ListOrganizationsResponse(
            organizations: page.items.map(DirectoryV1.Organization.init),
            nextPageToken: page.nextPageToken ?? ""
        )
    }

    public func updateOrganization(
        _ request: DirectoryV1.UpdateOrganizationRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Organization {
        DirectoryV1.Organization(
            try await self.store.updateOrganization(
                id: request.id,
                name: request.name.isEmpty ? nil : request.name,
                adminEmail: request.adminEmail.isEmpty ? nil : request.adminEmail,
                expectedVersion: request.expectedVersion,
                idempotency: try Self.idempotencyKey(request, context), logger: context.logger
            )
        )
    }

    public func deleteOrganization(
        _ request: DirectoryV1.DeleteOrganizationRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.DeleteOrganizationResponse {
        DirectoryV1.DeleteOrganizationResponse(
            unassignedTenantIDs: try await self.store.deleteOrganization(
                id: request.id,
                unassignTenants: request.unassignTenants,
                expectedVersion: request.expectedVersion,
                idempotency: try Self.idempotencyKey(request, context), logger: context.logger
            )
        )
    }

    public func setOrganizationTenants(
        _ request: DirectoryV1.SetOrganizationTenantsRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Organization {
        DirectoryV1.Organization(
            try await self.store.setOrganizationTenants(
                organizationID: request.organizationID,
                tenantIDs: request.tenantIDs,
                move: request.moveFromOtherOrganizations,
                idempotency: try Self.idempotencyKey(request, context), logger: context.logger
            )
        )
    }

    public func addTenant(
        _ request: DirectoryV1.AddTenantRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Organization {
        DirectoryV1.Organization(
            try await self.store.addTenant(
                organizationID: request.organizationID,
                tenantID: request.tenantID,
                move: request.moveFromOtherOrganization,
                idempotency: try Self.idempotencyKey(request, context), logger: context.logger
            )
        )
    }

    public func removeTenant(
        _ request: DirectoryV1.RemoveTenantRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Organization {
        DirectoryV1.Organization(
            try await self.store.removeTenant(
                organizationID: request.organizationID, tenantID: request.tenantID, idempotency: try Self.idempotencyKey(request, context), logger: context.logger
            )
        )
    }

    // MARK: Tenants

    public func createTenant(
        _ request: DirectoryV1.CreateTenantRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Tenant {
        DirectoryV1.Tenant(
            try await self.store.createTenant(
                slug: request.slug,
                displayName: request.displayName,
                organizationID: request.organizationID.isEmpty ? nil : request.organizationID,
                idempotency: try Self.idempotencyKey(request, context), logger: context.logger
            )
        )
    }

    public func getTenant(
        _ request: DirectoryV1.GetTenantRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Tenant {
        DirectoryV1.Tenant(try await self.store.tenant(id: request.id, logger: context.logger))
    }

    public func listTenants(
        _ request: DirectoryV1.ListTenantsRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.ListTenantsResponse {
        let page = try await self.store.listTenants(
            pageSize: request.pageSize,
            pageToken: request.pageToken,
            organizationID: request.organizationID,
            unassignedOnly: request.unassignedOnly,
            slugPrefix: request.slugPrefix,
            logger: context.logger
        )
        return DirectoryV1.ListTenantsResponse(
            tenants: page.items.map(DirectoryV1.Tenant.init),
            nextPageToken: page.nextPageToken ?? ""
        )
    }

    public func updateTenant(
        _ request: DirectoryV1.UpdateTenantRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.Tenant {
        DirectoryV1.Tenant(
            try await self.store.updateTenant(
                id: request.id,
                displayName: request.displayName.isEmpty ? nil : request.displayName,
                slug: request.slug.isEmpty ? nil : request.slug,
                expectedVersion: request.expectedVersion,
                idempotency: try Self.idempotencyKey(request, context), logger: context.logger
            )
        )
    }

    public func deleteTenant(
        _ request: DirectoryV1.DeleteTenantRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.DeleteTenantResponse {
        try await self.store.deleteTenant(id: request.id, expectedVersion: request.expectedVersion, idempotency: try Self.idempotencyKey(request, context), logger: context.logger)
        return DirectoryV1.DeleteTenantResponse()
    }

    public func resolveTenant(
        _ request: DirectoryV1.ResolveTenantRequest,
        context: ServerContext
    ) async throws -> DirectoryV1.ResolveTenantResponse {
        let (tenant, organization) = try await self.store.resolveTenant(slug: request.slug, logger: context.logger)
        return DirectoryV1.ResolveTenantResponse(tenant: DirectoryV1.Tenant(tenant), organization: organization.map(DirectoryV1.Organization.init))
    }

    /// ResolveTenant answers a cache hit at once, on the thread that read the call (no task for the call);
    /// a miss reads the database in ``resolveTenant(_:context:)``.
    public func registerImmediateMethods(with router: inout Router) {
        router.registerImmediate(DirectoryV1.Directory.resolveTenant) { request, _ in
            try self.store.cachedResolution(slug: request.slug).map { tenant, organization in
                DirectoryV1.ResolveTenantResponse(tenant: DirectoryV1.Tenant(tenant), organization: organization.map(DirectoryV1.Organization.init))
            }
        }
    }
}
