public import MilestoneRPC
public import MilestoneWire

extension DirectoryV1.Directory.Client {
    /// Every organization (optionally those whose name starts with `namePrefix`), by name, fetched
    /// `pageSize` at a time.
    public func organizations(
        namePrefix: String = "",
        pageSize: Int32 = 500,
        options: CallOptions = .default
    ) -> PagedSequence<DirectoryV1.Organization> {
        PagedSequence { token in
            let page = try await self.listOrganizations(
                .init(pageSize: pageSize, pageToken: token, namePrefix: namePrefix), options: options
            )
            return (page.organizations, page.nextPageToken)
        }
    }

    /// Every tenant matching the filters, by slug, fetched `pageSize` at a time.
    public func tenants(
        organizationID: String = "",
        unassignedOnly: Bool = false,
        slugPrefix: String = "",
        pageSize: Int32 = 500,
        options: CallOptions = .default
    ) -> PagedSequence<DirectoryV1.Tenant> {
        PagedSequence { token in
            let page = try await self.listTenants(
                .init(
                    pageSize: pageSize, pageToken: token, organizationID: organizationID,
                    unassignedOnly: unassignedOnly, slugPrefix: slugPrefix
                ),
                options: options
            )
            return (page.tenants, page.nextPageToken)
        }
    }
}
