public import MilestoneRPC
public import MilestoneWire

/// The `milestone.directory.v1.Directory` RPC service: validates each request, applies it to the store,
/// and maps ``DirectoryError`` to its status. Mutations need the admin role; reads accept service too.
public struct DirectoryService: Sendable {
    let store: DirectoryStore

    public init(database: DirectoryDatabase) {
        self.store = DirectoryStore(database: database)
    }

    init(store: DirectoryStore) {
        self.store = store
    }

    /// The service name health checks report.
    public static let serviceName = Directory.serviceName

    /// Adds every Directory method to `router`.
    public func register(in router: inout Router) {
        let store = self.store
        router.register(Directory.createOrganization, access: .adminOnly) { request, _ in
            try await mapped { Organization(try await store.createOrganization(name: request.name, adminEmail: request.adminEmail)) }
        }
        router.register(Directory.getOrganization, access: .adminOrService) { request, _ in
            try await mapped { Organization(try await store.organization(id: request.id)) }
        }
        router.register(Directory.listOrganizations, access: .adminOrService) { request, _ in
            try await mapped {
                let page = try await store.listOrganizations(
                    pageSize: request.pageSize, pageToken: request.pageToken, namePrefix: request.namePrefix
                )
                var response = ListOrganizationsResponse()
                response.organizations = page.items.map(Organization.init)
                response.nextPageToken = page.nextPageToken ?? ""
                return response
            }
        }
        router.register(Directory.updateOrganization, access: .adminOnly) { request, _ in
            try await mapped {
                Organization(
                    try await store.updateOrganization(
                        id: request.id,
                        name: request.name.isEmpty ? nil : request.name,
                        adminEmail: request.adminEmail.isEmpty ? nil : request.adminEmail,
                        expectedVersion: request.expectedVersion
                    )
                )
            }
        }
        router.register(Directory.deleteOrganization, access: .adminOnly) { request, _ in
            try await mapped {
                var response = DeleteOrganizationResponse()
                response.unassignedTenantIDs = try await store.deleteOrganization(
                    id: request.id, unassignTenants: request.unassignTenants, expectedVersion: request.expectedVersion
                )
                return response
            }
        }
        router.register(Directory.setOrganizationTenants, access: .adminOnly) { request, _ in
            try await mapped {
                Organization(
                    try await store.setOrganizationTenants(
                        organizationID: request.organizationID,
                        tenantIDs: request.tenantIDs,
                        move: request.moveFromOtherOrganizations
                    )
                )
            }
        }
        router.register(Directory.addTenant, access: .adminOnly) { request, _ in
            try await mapped {
                Organization(
                    try await store.addTenant(
                        organizationID: request.organizationID, tenantID: request.tenantID, move: request.moveFromOtherOrganization
                    )
                )
            }
        }
        router.register(Directory.removeTenant, access: .adminOnly) { request, _ in
            try await mapped {
                Organization(try await store.removeTenant(organizationID: request.organizationID, tenantID: request.tenantID))
            }
        }
        router.register(Directory.createTenant, access: .adminOnly) { request, _ in
            try await mapped {
                Tenant(
                    try await store.createTenant(
                        slug: request.slug,
                        displayName: request.displayName,
                        organizationID: request.organizationID.isEmpty ? nil : request.organizationID
                    )
                )
            }
        }
        router.register(Directory.getTenant, access: .adminOrService) { request, _ in
            try await mapped { Tenant(try await store.tenant(id: request.id)) }
        }
        router.register(Directory.listTenants, access: .adminOrService) { request, _ in
            try await mapped {
                let page = try await store.listTenants(
                    pageSize: request.pageSize,
                    pageToken: request.pageToken,
                    organizationID: request.organizationID,
                    unassignedOnly: request.unassignedOnly,
                    slugPrefix: request.slugPrefix
                )
                var response = ListTenantsResponse()
                response.tenants = page.items.map(Tenant.init)
                response.nextPageToken = page.nextPageToken ?? ""
                return response
            }
        }
        router.register(Directory.updateTenant, access: .adminOnly) { request, _ in
            try await mapped {
                Tenant(
                    try await store.updateTenant(
                        id: request.id,
                        displayName: request.displayName.isEmpty ? nil : request.displayName,
                        slug: request.slug.isEmpty ? nil : request.slug,
                        expectedVersion: request.expectedVersion
                    )
                )
            }
        }
        router.register(Directory.deleteTenant, access: .adminOnly) { request, _ in
            try await mapped {
                try await store.deleteTenant(id: request.id, expectedVersion: request.expectedVersion)
                return DeleteTenantResponse()
            }
        }
        router.register(Directory.resolveTenant, access: .adminOrService) { request, _ in
            try await mapped {
                let (tenant, organization) = try await store.resolveTenant(slug: request.slug)
                var response = ResolveTenantResponse()
                response.tenant = Tenant(tenant)
                response.organization = organization.map(Organization.init)
                return response
            }
        }
    }
}

/// Runs `body`, turning a ``DirectoryError`` into the RPC status it stands for.
private func mapped<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as DirectoryError {
        throw RPCError(error)
    }
}
