/// How the identity service derives what it tells the outside world.
public import MilestoneHTTPClient

public struct IdentityConfiguration: Sendable {
    /// Where people reach Milestone, e.g. `https://your-domain.com` (no trailing slash): redirect URIs are
    /// derived from it.
    public var publicBaseURL: String
    /// The Entra ID authority (default `https://login.microsoftonline.com`); an emulator's in tests.
    public var entraAuthority: String
    /// The instance configuration of the SSO_* environment, if any.
    public var instanceEnvironment: InstanceEnvironment?
    /// How long a tenant's organization, as the directory reported it, is reused before asking again
    /// (default 10 s): a tenant moved to another organization gets the new configuration within this bound.
    /// SSO configurations themselves are read from the identity database on every call (never stale).
    public var directoryCacheLifetime: Duration
    /// Outbound HTTPS to identity providers (Test Connection): timeouts and the response size cap.
    public var http: HTTPClient.Configuration
    /// Session lifetimes (12 h absolute, 1 h idle by default).
    public var sessions: SessionPolicy
    /// Allowed clock difference with identity providers for `exp`, `nbf` and `iat` (default 5 minutes).
    public var clockSkew: Duration
    /// How long a started sign-in may take (default 10 minutes).
    public var signInLifetime: Duration

    public init(
        publicBaseURL: String = "http://127.0.0.1:7480",
        entraAuthority: String = "https://login.microsoftonline.com",
        instanceEnvironment: InstanceEnvironment? = nil,
        directoryCacheLifetime: Duration = .seconds(10),
        http: HTTPClient.Configuration = HTTPClient.Configuration(),
        sessions: SessionPolicy = SessionPolicy(),
        clockSkew: Duration = .seconds(300),
        signInLifetime: Duration = .seconds(600)
    ) {
        self.http = http
        self.sessions = sessions
        self.clockSkew = clockSkew
        self.signInLifetime = signInLifetime
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.entraAuthority = entraAuthority.hasSuffix("/") ? String(entraAuthority.dropLast()) : entraAuthority
        self.instanceEnvironment = instanceEnvironment
        self.directoryCacheLifetime = directoryCacheLifetime
    }

    /// `{base}/t/{slug}/api/auth/callback`.
    public func redirectURI(tenantSlug: String) -> String {
        "\(self.publicBaseURL)/t/\(tenantSlug)/api/auth/callback"
    }

    /// `SSO_REDIRECT_URI`, or `{base}/api/auth/callback`.
    public var instanceRedirectURI: String {
        self.instanceEnvironment?.redirectURI ?? "\(self.publicBaseURL)/api/auth/callback"
    }

    /// The configuration from its settings (nil: the default), checked: the URLs https (http only for
    /// loopback hosts), the SSO_* environment complete and valid.
    ///
    /// - Throws: ``IdentityError`` naming the setting or variable.
    public static func checked(
        publicBaseURL: String?,
        entraAuthority: String?,
        environment: [String: String]
    ) throws -> IdentityConfiguration {
        IdentityConfiguration(
            publicBaseURL: try SSOValidation.httpsURL(
                publicBaseURL ?? "http://127.0.0.1:7480", field: "--public-base-url / MILESTONE_PUBLIC_BASE_URL"
            ),
            entraAuthority: try SSOValidation.httpsURL(
                entraAuthority ?? "https://login.microsoftonline.com", field: "--entra-authority / MILESTONE_ENTRA_AUTHORITY"
            ),
            instanceEnvironment: try InstanceEnvironment.read(environment)
        )
    }
}
