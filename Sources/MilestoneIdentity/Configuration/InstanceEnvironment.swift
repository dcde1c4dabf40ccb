import Foundation

/// The instance SSO configuration of the seed's environment variables: `SSO_ENABLED`, `SSO_CLIENT_ID`,
/// `SSO_CLIENT_SECRET`, `SSO_TENANT_ID`, `SSO_REDIRECT_URI`. When any is set, the environment defines the
/// instance configuration: it wins over stored settings, and RPC changes of the instance are refused.
public struct InstanceEnvironment: Sendable {
    public static let variables = ["SSO_ENABLED", "SSO_CLIENT_ID", "SSO_CLIENT_SECRET", "SSO_TENANT_ID", "SSO_REDIRECT_URI"]

    /// The configuration (Microsoft Entra ID), without its secret.
    public let settings: SSOSettings
    /// Kept in memory only: never stored, logged or returned.
    let clientSecret: String
    /// `SSO_REDIRECT_URI`, if set.
    public let redirectURI: String?

    /// The environment's instance configuration, or nil when no `SSO_*` variable is set.
    ///
    /// - Throws: ``IdentityError`` naming the variable that is missing or invalid.
    public static func read(_ environment: [String: String]) throws(IdentityError) -> InstanceEnvironment? {
        let values = Self.variables.compactMap { name in environment[name].map { (name, $0) } }.filter { !$0.1.isEmpty }
        guard !values.isEmpty else { return nil }
        let enabledText = (environment["SSO_ENABLED"] ?? "true").lowercased()
        guard ["true", "1", "yes", "on", "false", "0", "no", "off"].contains(enabledText) else {
            throw IdentityError.invalid("SSO_ENABLED", "\"\(enabledText.prefix(20))\" is not true or false")
        }
        let enabled = ["true", "1", "yes", "on"].contains(enabledText)
        func required(_ name: String) throws(IdentityError) -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw IdentityError.invalid(name, "is required when the SSO_* environment defines the instance configuration")
            }
            return value
        }
        let change: SSOSettingsChange
        do {
            change = try SSOSettingsChange(
                provider: .entraID,
                clientID: try required("SSO_CLIENT_ID"),
                directoryTenantID: try required("SSO_TENANT_ID"),
                clientSecret: try required("SSO_CLIENT_SECRET"),
                enabled: enabled
            ).validated()
        } catch {
            // Name the variables, not the request fields.
            throw IdentityError(
                error.code,
                error.message.replacingOccurrences(of: "client_id", with: "SSO_CLIENT_ID")
                    .replacingOccurrences(of: "directory_tenant_id", with: "SSO_TENANT_ID")
                    .replacingOccurrences(of: "client_secret", with: "SSO_CLIENT_SECRET")
            )
        }
        var redirectURI: String?
        if let uri = environment["SSO_REDIRECT_URI"], !uri.isEmpty {
            redirectURI = try SSOValidation.httpsURL(uri, field: "SSO_REDIRECT_URI")
        }
        return InstanceEnvironment(
            settings: SSOSettings(
                scope: .instance, provider: .entraID, clientID: change.clientID,
                directoryTenantID: change.directoryTenantID, issuerURL: "", enabled: enabled,
                secret: SecretMetadata(hint: SecretMetadata.hint(of: change.clientSecret), setAt: 0, expiresOn: nil),
                source: .instanceEnvironment, createdAt: 0, updatedAt: 0, version: 0
            ),
            clientSecret: change.clientSecret,
            redirectURI: redirectURI
        )
    }
}

extension InstanceEnvironment: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Never shows the secret.
    public var description: String {
        "InstanceEnvironment(clientID: \(self.settings.clientID), directoryTenantID: \(self.settings.directoryTenantID), enabled: \(self.settings.enabled), clientSecret: <redacted>)"
    }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror { Mirror(self, children: ["description": self.description]) }
}
