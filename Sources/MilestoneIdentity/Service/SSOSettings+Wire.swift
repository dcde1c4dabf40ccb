import MilestoneWire

extension SSOSettings {
    func wire(today: Int) -> IdentityV1.SSOConfiguration {
        IdentityV1.SSOConfiguration(
            scope: self.scope.wire,
            provider: self.provider == .entraID ? .entraID : .oidc,
            clientID: self.clientID,
            directoryTenantID: self.directoryTenantID,
            issuerURL: self.issuerURL,
            enabled: self.enabled,
            secret: IdentityV1.SecretInfo(
                hint: self.secret.hint,
                setAtMicros: self.secret.setAt,
                expiresOn: self.secret.expiresOn ?? "",
                daysLeft: Int32(clamping: self.secret.daysLeft(today: today) ?? 0)
            ),
            source: self.source.wire,
            createdAtMicros: self.createdAt,
            updatedAtMicros: self.updatedAt,
            version: UInt64(max(0, self.version))
        )
    }
}

extension SSOScope {
    var wire: IdentityV1.Scope {
        switch self {
        case .organization(let id): IdentityV1.Scope(kind: .organizationID(id))
        case .instance: IdentityV1.Scope(kind: .instance(true))
        }
    }
}

extension SSOSource {
    var wire: IdentityV1.ConfigurationSource {
        switch self {
        case .organization: .organization
        case .instanceSettings: .instanceSettings
        case .instanceEnvironment: .instanceEnvironment
        }
    }
}
