/// An organization with the ids of its tenants, ordered by slug.
struct OrganizationSnapshot: Codable, Hashable, Sendable {
    var record: OrganizationRecord
    var tenantIDs: [String]
}

/// A page of a List call.
struct Page<Item: Sendable>: Sendable {
    var items: [Item]
    /// nil on the last page.
    var nextPageToken: String?
}
