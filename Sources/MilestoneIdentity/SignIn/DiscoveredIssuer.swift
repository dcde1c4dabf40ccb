/// Whether a discovery document's `issuer` is the configured provider's — the one rule that sign-in (which
/// refuses otherwise) and Test Connection (which reports it) both apply. Generic OpenID Connect: identical to
/// the issuer URL the document was fetched under (OpenID Connect Discovery 4.3; with or without a trailing
/// slash, as the URL is kept without one). Entra: the authority, a directory tenant's GUID and `/v2.0` — the
/// configured GUID, when a GUID is configured; or Entra's `{tenantid}` template, only when a GUID is
/// configured (each token's `tid` is then checked against it).
enum DiscoveredIssuer: Equatable {
    /// Generic OpenID Connect: the configured issuer.
    case configuredIssuer
    /// Entra: the issuer of the directory tenant with this GUID (lowercase).
    case entraTenant(String)
    /// Entra's multi-tenant template, with the configured GUID (lowercase) to check tokens' `tid` against.
    case entraTemplate(String)
    /// Not the configured provider's: what is wrong (after "the discovery document …") and what to do.
    case refused(problem: String, fix: String)

    init(_ issuer: String, provider: SSOProvider, issuerURL: String, directoryTenantID: String, authority: String) {
        let shown = "\"\(issuer.prefix(200))\""
        switch provider {
        case .oidc:
            self = issuer == issuerURL || issuer == issuerURL + "/"
                ? .configuredIssuer
                : .refused(
                    problem: "names the issuer \(shown), not the configured \(issuerURL)",
                    fix: "set the issuer URL exactly as the provider's discovery document states it"
                )
        case .entraID:
            let prefix = "\(authority)/"
            let suffix = "/v2.0"
            let tenant = issuer.hasPrefix(prefix) && issuer.hasSuffix(suffix) && issuer.count > prefix.count + suffix.count
                ? String(issuer.dropFirst(prefix.count).dropLast(suffix.count)) : ""
            let guidConfigured = SSOValidation.isGUID(directoryTenantID)
            if tenant == "{tenantid}" {
                self = guidConfigured
                    ? .entraTemplate(directoryTenantID.lowercased())
                    : .refused(
                        problem: "names no directory tenant (\(shown)) to check \(directoryTenantID) against: configure the tenant's GUID",
                        fix: "use the Directory (tenant) ID from Entra ID > Overview instead of a domain"
                    )
            } else if !SSOValidation.isGUID(tenant) {
                self = .refused(
                    problem: "names the issuer \(shown), not \(authority)/{directory tenant id}/v2.0",
                    fix: "check the Entra authority (MILESTONE_ENTRA_AUTHORITY) and the directory tenant id"
                )
            } else if guidConfigured, tenant.lowercased() != directoryTenantID.lowercased() {
                self = .refused(
                    problem: "names the directory tenant \(tenant), not the configured \(directoryTenantID)",
                    fix: "copy the Directory (tenant) ID from Entra ID > Overview"
                )
            } else {
                self = .entraTenant(tenant.lowercased())
            }
        }
    }

    /// The GUID an Entra token's `tid` must equal (nil when not Entra, or refused).
    var directoryTenant: String? {
        switch self {
        case .entraTenant(let guid), .entraTemplate(let guid): guid
        case .configuredIssuer, .refused: nil
        }
    }
}
