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

    /// Decodes by column position (`SELECT *` order), faster than Codable's keyed decoding on the hot path.
    init(row: Row) throws {
        self.id = row[0]
        self.slug = row[1]
        self.displayName = row[2]
        self.organizationID = row[3]
        self.createdAt = row[4]
        self.updatedAt = row[5]
        self.version = row[6]
    }

    init(id: String, slug: String, displayName: String, organizationID: String?, createdAt: Int64, updatedAt: Int64, version: Int64) {
        self.id = id
        self.slug = slug
        self.displayName = displayName
        self.organizationID = organizationID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id, slug, version
        case displayName = "display_name"
        case organizationID = "organization_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
