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

    enum CodingKeys: String, CodingKey {
        case id, name, version
        case nameKey = "name_key"
        case adminEmail = "admin_email"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
