import GRDB

/// A row of the `organization` table.
struct OrganizationRecord: Codable, Hashable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "organization"

    var id: String
    var name: String
    /// `name` lowercased: the unique, case-insensitive key, and the list order.
    var nameKey: String
    var adminEmail: String
    var createdAt: Int64
    var updatedAt: Int64
    var version: Int64

    /// Decodes by column position (`SELECT *` order), faster than Codable's keyed decoding on the hot path.
    init(row: Row) throws {
        self.id = row[0]
        self.name = row[1]
        self.nameKey = row[2]
        self.adminEmail = row[3]
        self.createdAt = row[4]
        self.updatedAt = row[5]
        self.version = row[6]
    }

    init(id: String, name: String, nameKey: String, adminEmail: String, createdAt: Int64, updatedAt: Int64, version: Int64) {
        self.id = id
        self.name = name
        self.nameKey = nameKey
        self.adminEmail = adminEmail
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id, name, version
        case nameKey = "name_key"
        case adminEmail = "admin_email"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
