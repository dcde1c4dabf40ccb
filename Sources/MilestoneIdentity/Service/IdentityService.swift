import Foundation
public import Logging
public import MilestoneCrypto
public import MilestoneRPC
public import MilestoneWire
import MilestoneHTTPClient

/// The `milestone.identity.v1.Identity` RPC service, part 1: SSO configurations for organizations and the
/// instance, sealed secrets, and the effective configuration of a tenant. Store errors become statuses in
/// one place (`IdentityError+RPC.swift`). Configuring needs the admin role; effective configurations accept
/// the service role too.
public struct IdentityService: IdentityV1.Identity.ServiceProtocol {
    let store: SSOConfigurationStore
    let directory: any TenantDirectory
    let configuration: IdentityConfiguration
    /// Today, as days since 1970 (UTC), for secrets' days left (injectable).
    let today: @Sendable () -> Int
    /// Now, in microseconds since 1970 (injectable): sign-ins' and sessions' clock.
    let now: @Sendable () -> Int64
    let pending: PendingSignInStore
    let accounts: AccountStore
    let providers: ProviderMetadataCache
    let validator: IDTokenValidator
    let http: HTTPClient
    /// Keys the users listing's page tokens (sealed, so they are opaque and tamper-evident).
    let secretBox: SecretBox

    public init(
        database: IdentityDatabase,
        secretBox: SecretBox,
        directory: any TenantDirectory,
        configuration: IdentityConfiguration
    ) {
        self.init(
            database: database, secretBox: secretBox, directory: directory, configuration: configuration,
            now: SSOConfigurationStore.systemNow
        )
    }

    /// The service on the clock `now` (microseconds since 1970), for tests of expiries.
    package init(
        database: IdentityDatabase,
        secretBox: SecretBox,
        directory: any TenantDirectory,
        configuration: IdentityConfiguration,
        now: @escaping @Sendable () -> Int64
    ) {
        let http = HTTPClient(configuration: configuration.http)
        self.store = SSOConfigurationStore(database: database, box: secretBox, now: now)
        self.directory = directory
        self.configuration = configuration
        self.now = now
        self.today = { Int(now() / 86_400_000_000) }
        self.pending = PendingSignInStore(database: database, box: secretBox)
        self.accounts = AccountStore(database: database, policy: configuration.sessions)
        self.providers = ProviderMetadataCache(http: http)
        self.validator = IDTokenValidator(keys: JWKSCache(http: http), skew: configuration.clockSkew)
        self.http = http
        self.secretBox = secretBox
    }

    public func access(for method: IdentityV1.Identity.Method) -> MethodAccess {
        switch method {
        case .setSSOConfiguration, .getSSOConfiguration, .deleteSSOConfiguration, .listSSOConfigurations:
            .adminOnly
        case .testConnection:
            .adminOnly
        case .getEffectiveConfiguration, .startLogin, .completeLogin, .validateSession, .revokeSession, .getUser:
            .adminOrService
        case .revokeUserSessions, .listUsers:
            .adminOnly
        }
    }

    // MARK: Configurations

    public func setSSOConfiguration(
        _ request: IdentityV1.SetSSOConfigurationRequest,
        context: ServerContext
    ) async throws -> IdentityV1.SSOConfiguration {
        let scope = try Self.scope(request.scope)
        try self.refuseEnvironmentChange(scope, "set")
        if case .organization(let id) = scope {
            _ = try await self.directory.organization(id: id)  // NOT_FOUND when the directory has no such organization
        }
        let provider: SSOProvider
        switch request.provider {
        case .entraID: provider = .entraID
        case .oidc: provider = .oidc
        default: throw IdentityError.invalid("provider", "must be ENTRA_ID or OIDC")
        }
        let settings = try await self.store.set(
            scope,
            SSOSettingsChange(
                provider: provider, clientID: request.clientID, directoryTenantID: request.directoryTenantID,
                issuerURL: request.issuerURL, clientSecret: request.clientSecret, enabled: !request.disabled,
                secretExpiresOn: request.secretExpiresOn
            ),
            logger: context.logger
        )
        return settings.wire(today: self.today())
    }

    public func getSSOConfiguration(
        _ request: IdentityV1.GetSSOConfigurationRequest,
        context: ServerContext
    ) async throws -> IdentityV1.SSOConfiguration {
        let scope = try Self.scope(request.scope)
        if scope == .instance, let environment = self.configuration.instanceEnvironment {
            return environment.settings.wire(today: self.today())
        }
        guard let settings = try await self.store.get(scope, logger: context.logger) else {
            throw IdentityError(.notFound, "\(scope) has no SSO configuration")
        }
        return settings.wire(today: self.today())
    }

    public func deleteSSOConfiguration(
        _ request: IdentityV1.DeleteSSOConfigurationRequest,
        context: ServerContext
    ) async throws -> IdentityV1.DeleteSSOConfigurationResponse {
        let scope = try Self.scope(request.scope)
        try self.refuseEnvironmentChange(scope, "delete")
        guard try await self.store.delete(scope, logger: context.logger) else {
            throw IdentityError(.notFound, "\(scope) has no SSO configuration")
        }
        return IdentityV1.DeleteSSOConfigurationResponse()
    }

    public func listSSOConfigurations(
        _ request: IdentityV1.ListSSOConfigurationsRequest,
        context: ServerContext
    ) async throws -> IdentityV1.ListSSOConfigurationsResponse {
        var stored = try await self.store.list(logger: context.logger)
        if let environment = self.configuration.instanceEnvironment {
            stored.removeAll { $0.scope == .instance }
            stored.insert(environment.settings, at: 0)
        }
        let today = self.today()
        return IdentityV1.ListSSOConfigurationsResponse(configurations: stored.map { $0.wire(today: today) })
    }

    // MARK: Effective configuration

    public func getEffectiveConfiguration(
        _ request: IdentityV1.GetEffectiveConfigurationRequest,
        context: ServerContext
    ) async throws -> IdentityV1.EffectiveConfiguration {
        let effective = try await self.effective(tenantSlug: request.tenantSlug, logger: context.logger)
        return IdentityV1.EffectiveConfiguration(
            source: effective.settings?.source.wire ?? .none,
            organizationID: effective.organization?.id ?? "",
            organizationName: effective.organization?.name ?? "",
            configuration: effective.settings?.wire(today: self.today()),
            redirectURI: effective.redirectURI,
            explanation: effective.explanation
        )
    }

    /// The organization's enabled configuration, else the instance's, else none; with why.
    func effective(tenantSlug: String, logger: Logger) async throws -> EffectiveSSO {
        guard !tenantSlug.isEmpty else {
            let instance = try await self.instanceSettings(logger: logger)
            return EffectiveSSO(
                settings: instance.flatMap { $0.enabled ? $0 : nil },
                organization: nil,
                redirectURI: self.configuration.instanceRedirectURI,
                explanation: Self.instanceExplanation(instance, prefix: "the instance")
            )
        }
        guard tenantSlug.utf8.count <= 63 else { throw IdentityError.invalid("tenant_slug", "is longer than a slug can be") }
        let tenant = try await self.directory.resolve(slug: tenantSlug)
        let redirectURI = self.configuration.redirectURI(tenantSlug: tenant.slug)
        var because: String
        var org: (id: String, name: String)?
        if let organizationID = tenant.organizationID {
            let name = tenant.organizationName ?? organizationID
            org = (organizationID, name)
            let stored = try await self.store.organizations([organizationID])[organizationID]
            if let stored, stored.enabled {
                return EffectiveSSO(
                    settings: stored, organization: org, redirectURI: redirectURI,
                    explanation: "tenant \(tenant.slug) belongs to organization \(name), whose SSO configuration applies"
                )
            }
            because = stored == nil
                ? "tenant \(tenant.slug) belongs to organization \(name), which has no SSO configuration"
                : "tenant \(tenant.slug) belongs to organization \(name), whose SSO configuration is disabled"
        } else {
            because = "tenant \(tenant.slug) belongs to no organization"
        }
        let instance = try await self.instanceSettings(logger: logger)
        if let instance, instance.enabled {
            let origin = instance.source == .instanceEnvironment ? "the SSO_* environment" : "the instance settings"
            return EffectiveSSO(
                settings: instance, organization: org, redirectURI: redirectURI,
                explanation: "\(because), so the instance configuration from \(origin) applies"
            )
        }
        return EffectiveSSO(
            settings: nil, organization: org, redirectURI: redirectURI,
            explanation: "\(because), and \(Self.instanceExplanation(instance, prefix: "the instance")): single sign-on is not configured for tenant \(tenant.slug)"
        )
    }

    private func instanceSettings(logger: Logger) async throws -> SSOSettings? {
        if let environment = self.configuration.instanceEnvironment { return environment.settings }
        return try await self.store.get(.instance, logger: logger)
    }

    private static func instanceExplanation(_ instance: SSOSettings?, prefix: String) -> String {
        guard let instance else { return "\(prefix) has no SSO configuration" }
        let origin = instance.source == .instanceEnvironment ? "from the SSO_* environment" : "from the instance settings"
        return instance.enabled ? "\(prefix) configuration \(origin) applies" : "\(prefix) configuration \(origin) is disabled"
    }

    // MARK: Test Connection

    public func testConnection(
        _ request: IdentityV1.TestConnectionRequest,
        context: ServerContext
    ) async throws -> IdentityV1.TestConnectionReport {
        let scope = try Self.scope(request.scope)
        let settings: SSOSettings
        let secret: String?
        let redirectURIs: [String]
        if scope == .instance, let environment = self.configuration.instanceEnvironment {
            settings = environment.settings
            secret = environment.clientSecret
        } else {
            guard let stored = try await self.store.get(scope, logger: context.logger) else {
                throw IdentityError(.notFound, "\(scope) has no SSO configuration to test")
            }
            settings = stored
            secret = try? await self.store.clientSecret(scope)
        }
        switch scope {
        case .instance:
            redirectURIs = [self.configuration.instanceRedirectURI]
        case .organization(let id):
            redirectURIs = try await self.directory.tenants(organizationID: id).map { self.configuration.redirectURI(tenantSlug: $0.slug) }
        }
        let tester = ConnectionTester(http: HTTPClient(configuration: self.configuration.http), authority: self.configuration.entraAuthority)
        var steps = await tester.test(settings, secret: secret ?? "", redirectURIs: redirectURIs, today: self.today())
        if secret == nil {
            if let index = steps.firstIndex(where: { $0.name == "client credentials" }) {
                steps[index] = ConnectionStep(
                    name: "client credentials", outcome: .failed,
                    detail: "the stored client secret cannot be opened with the configured master key",
                    fix: "configure the master key it was sealed with (MILESTONE_SECRET_KEY or DATA_DIR/secret.key), or set the secret again"
                )
            }
        }
        context.logger.info(
            "test connection",
            metadata: ["scope": "\(scope)", "outcomes": "\(steps.map { "\($0.name)=\($0.outcome)" }.joined(separator: ", "))"]
        )
        return IdentityV1.TestConnectionReport(
            steps: steps.map { step in
                let outcome: IdentityV1.StepOutcome = switch step.outcome {
                case .ok: .ok
                case .failed: .failed
                case .skipped: .skipped
                case .warning: .warning
                }
                return IdentityV1.TestStep(name: step.name, outcome: outcome, detail: step.detail, fix: step.fix)
            },
            ok: !steps.contains { $0.outcome == .failed },
            redirectURIs: redirectURIs
        )
    }

    // MARK: Helpers

    static func scope(_ scope: IdentityV1.Scope?) throws(IdentityError) -> SSOScope {
        switch scope?.kind {
        case .organizationID(let id)?:
            guard !id.isEmpty, id.utf8.count <= 64 else { throw .invalid("scope.organization_id", "must be an organization id") }
            return .organization(id)
        case .instance(true)?:
            return .instance
        default:
            throw .invalid("scope", "say organization_id or instance")
        }
    }

    private func refuseEnvironmentChange(_ scope: SSOScope, _ verb: String) throws(IdentityError) {
        guard scope == .instance, self.configuration.instanceEnvironment != nil else { return }
        throw IdentityError(
            .failedPrecondition,
            "the instance SSO configuration comes from the environment (\(InstanceEnvironment.variables.joined(separator: ", "))); change or unset those variables of milestone-identity instead of trying to \(verb) it"
        )
    }
}

extension IdentityService {
    /// Start-up work, before serving: loads the in-memory copy of the configurations once (rather than by the
    /// first calls, concurrently), then logs an error naming every configuration whose secret was sealed with
    /// another master key: they cannot be used until that key is configured again or their secrets are set
    /// again. Nothing is changed.
    public func prepare(logger: Logger) async throws {
        _ = try await self.store.get(.instance, logger: logger)
        let foreign = try await self.store.sealedWithOtherKeys()
        guard !foreign.isEmpty else { return }
        logger.error(
            "client secrets sealed with another master key: configure that key (MILESTONE_SECRET_KEY or DATA_DIR/secret.key) or set these secrets again",
            metadata: ["configurations": "\(foreign.map { "\($0.scope) (key \($0.keyID))" }.joined(separator: ", "))", "configured-key-id": "\(self.store.box.keyID)"]
        )
    }
}
