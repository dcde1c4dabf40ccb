import GRDB

/// A row of the `tenant` table.
struct TenantRecord: Codable, Hashable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "tenant"

    var id: String
    var slug: String
    var displayName: String
    var organizationID: String?
    var createdAt: Int64
    var updatedAt: Int64
    var version: Int64

    enum CodingKeys: String, CodingKey {
        case id, slug, version
        case displayName = "display_name"
        case organizationID = "organization_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
