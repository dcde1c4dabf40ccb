import MilestoneWire

extension DirectoryV1.Organization {
    init(_ snapshot: OrganizationSnapshot) {
        self.init()
        self.id = snapshot.record.id
        self.name = snapshot.record.name
        self.adminEmail = snapshot.record.adminEmail
        self.tenantIDs = snapshot.tenantIDs
        self.createdAtMicros = snapshot.record.createdAt
        self.updatedAtMicros = snapshot.record.updatedAt
        self.version = UInt64(snapshot.record.version)
    }
}

extension DirectoryV1.Tenant {
    init(_ record: TenantRecord) {
        self.init()
        self.id = record.id
        self.slug = record.slug
        self.displayName = record.displayName
        self.organizationID = record.organizationID ?? ""
        self.createdAtMicros = record.createdAt
        self.updatedAtMicros = record.updatedAt
        self.version = UInt64(record.version)
    }
}
