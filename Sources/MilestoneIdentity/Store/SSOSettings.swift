/// Whose configuration: an organization's (inherited by its tenants) or the instance's.
public enum SSOScope: Hashable, Sendable, CustomStringConvertible {
    case organization(String)
    case instance

    /// The row key: `instance`, or `org:` and the organization id.
    var key: String {
        switch self {
        case .organization(let id): "org:\(id)"
        case .instance: "instance"
        }
    }

    public var description: String {
        switch self {
        case .organization(let id): "organization \(id)"
        case .instance: "the instance"
        }
    }
}

public enum SSOProvider: Int, Hashable, Sendable {
    case entraID = 1
    case oidc = 2
}

/// Where a configuration comes from.
public enum SSOSource: Hashable, Sendable {
    case organization
    case instanceSettings
    case instanceEnvironment
}

/// What is known of a client secret: never the secret itself.
public struct SecretMetadata: Hashable, Sendable {
    /// "…" and the last 4 characters.
    public var hint: String
    /// Microseconds since 1970.
    public var setAt: Int64
    /// YYYY-MM-DD, or nil.
    public var expiresOn: String?

    /// Whole days from `today` (days since 1970) to the expiry date; nil without one.
    public func daysLeft(today: Int) -> Int? {
        self.expiresOn.flatMap(SSOValidation.day).map { $0 - today }
    }

    static func hint(of secret: String) -> String {
        secret.count <= 8 ? "…" : "…" + secret.suffix(4)
    }
}

/// An SSO configuration without its secret: what may be shown.
public struct SSOSettings: Hashable, Sendable {
    public var scope: SSOScope
    public var provider: SSOProvider
    public var clientID: String
    /// Entra ID: the directory (tenant) id.
    public var directoryTenantID: String
    /// Generic OpenID Connect: the issuer URL.
    public var issuerURL: String
    public var enabled: Bool
    public var secret: SecretMetadata
    public var source: SSOSource
    public var createdAt: Int64
    public var updatedAt: Int64
    public var version: Int64
}

/// A configuration as an administrator sets it.
public struct SSOSettingsChange: Sendable {
    public var provider: SSOProvider
    public var clientID: String
    public var directoryTenantID: String
    public var issuerURL: String
    public var clientSecret: String
    public var enabled: Bool
    public var secretExpiresOn: String?

    public init(
        provider: SSOProvider, clientID: String, directoryTenantID: String = "", issuerURL: String = "",
        clientSecret: String, enabled: Bool = true, secretExpiresOn: String? = nil
    ) {
        self.provider = provider
        self.clientID = clientID
        self.directoryTenantID = directoryTenantID
        self.issuerURL = issuerURL
        self.clientSecret = clientSecret
        self.enabled = enabled
        self.secretExpiresOn = secretExpiresOn
    }

    /// The change with its fields checked and normalized.
    func validated() throws(IdentityError) -> SSOSettingsChange {
        var change = self
        switch self.provider {
        case .entraID:
            change.clientID = try SSOValidation.entraClientID(self.clientID)
            change.directoryTenantID = try SSOValidation.directoryTenantID(self.directoryTenantID)
            change.issuerURL = ""
        case .oidc:
            change.clientID = try SSOValidation.clientID(self.clientID)
            change.issuerURL = try SSOValidation.httpsURL(self.issuerURL, field: "issuer_url")
            change.directoryTenantID = ""
        }
        change.clientSecret = try SSOValidation.secret(self.clientSecret)
        change.secretExpiresOn = try SSOValidation.date(self.secretExpiresOn ?? "")
        return change
    }
}

extension SSOSettingsChange: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Never shows the secret.
    public var description: String {
        "SSOSettingsChange(provider: \(self.provider), clientID: \(self.clientID), directoryTenantID: \(self.directoryTenantID), issuerURL: \(self.issuerURL), clientSecret: <redacted>, enabled: \(self.enabled))"
    }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror { Mirror(self, children: ["description": self.description]) }
}
