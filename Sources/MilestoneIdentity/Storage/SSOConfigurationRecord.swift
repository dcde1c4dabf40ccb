import Foundation
import GRDB

/// A row of the `sso_configuration` table.
struct SSOConfigurationRecord: Codable, Hashable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "sso_configuration"

    var scope: String
    var organizationID: String?
    var provider: Int
    var clientID: String
    var directoryTenantID: String
    var issuerURL: String
    var enabled: Bool
    var secretKeyID: String
    var secret: Data
    var secretHint: String
    var secretSetAt: Int64
    var secretExpiresOn: String?
    var createdAt: Int64
    var updatedAt: Int64
    var version: Int64

    enum CodingKeys: String, CodingKey {
        case scope
        case organizationID = "organization_id"
        case provider
        case clientID = "client_id"
        case directoryTenantID = "directory_tenant_id"
        case issuerURL = "issuer_url"
        case enabled
        case secretKeyID = "secret_key_id"
        case secret
        case secretHint = "secret_hint"
        case secretSetAt = "secret_set_at"
        case secretExpiresOn = "secret_expires_on"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case version
    }

    var settings: SSOSettings {
        SSOSettings(
            scope: self.organizationID.map { .organization($0) } ?? .instance,
            provider: SSOProvider(rawValue: self.provider) ?? .entraID,
            clientID: self.clientID,
            directoryTenantID: self.directoryTenantID,
            issuerURL: self.issuerURL,
            enabled: self.enabled,
            secret: SecretMetadata(hint: self.secretHint, setAt: self.secretSetAt, expiresOn: self.secretExpiresOn),
            source: self.organizationID == nil ? .instanceSettings : .organization,
            createdAt: self.createdAt,
            updatedAt: self.updatedAt,
            version: self.version
        )
    }
}
