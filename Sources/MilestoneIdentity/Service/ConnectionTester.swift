import Foundation
import MilestoneCrypto
import MilestoneHTTPClient

/// One step of a Test Connection report.
struct ConnectionStep: Sendable, Equatable {
    enum Outcome: Sendable, Equatable { case ok, failed, skipped, warning }

    var name: String
    var outcome: Outcome
    var detail: String
    var fix: String = ""
}

/// Tries an SSO configuration against its identity provider, as an administrator would before rolling it
/// out: discovery, signing keys, a client_credentials grant, the redirect URIs, the secret's expiry.
struct ConnectionTester: Sendable {
    let http: HTTPClient
    /// The Entra authority, e.g. `https://login.microsoftonline.com`.
    let authority: String

    static let graphScope = "https://graph.microsoft.com/.default"

    func test(_ settings: SSOSettings, secret: String, redirectURIs: [String], today: Int) async -> [ConnectionStep] {
        var steps: [ConnectionStep] = []
        // 1. Discovery.
        let discoveryURL: String
        switch settings.provider {
        case .entraID: discoveryURL = "\(self.authority)/\(settings.directoryTenantID)/v2.0/.well-known/openid-configuration"
        case .oidc: discoveryURL = "\(settings.issuerURL)/.well-known/openid-configuration"
        }
        let discovery = await self.discover(discoveryURL, settings)
        steps.append(discovery.step)
        // 2. Signing keys.
        if let jwksURI = discovery.jwksURI {
            steps.append(await self.signingKeys(jwksURI))
        } else {
            steps.append(ConnectionStep(name: "signing keys", outcome: .skipped, detail: "not checked: the discovery document was not read"))
        }
        // 3. Client credentials.
        if let tokenEndpoint = discovery.tokenEndpoint {
            steps.append(await self.clientCredentials(tokenEndpoint, settings, secret: secret))
        } else {
            steps.append(ConnectionStep(name: "client credentials", outcome: .skipped, detail: "not tried: the discovery document was not read"))
        }
        // 4. Redirect URIs.
        steps.append(
            ConnectionStep(
                name: "redirect URIs",
                outcome: redirectURIs.isEmpty ? .skipped : .ok,
                detail: redirectURIs.isEmpty
                    ? "the organization has no tenants yet, so no redirect URI to register"
                    : "register these \(redirectURIs.count) redirect URI(s) (platform: Web): \(redirectURIs.joined(separator: ", "))",
                fix: redirectURIs.isEmpty ? "" : "App Registration > Authentication > Web > Redirect URIs: add each exactly as shown"
            )
        )
        // 5. Secret expiry.
        steps.append(Self.expiry(settings.secret, today: today))
        return steps
    }

    // MARK: Steps

    private struct Discovery {
        var step: ConnectionStep
        var jwksURI: String?
        var tokenEndpoint: String?
    }

    private func discover(_ url: String, _ settings: SSOSettings) async -> Discovery {
        let name = "discovery"
        let response: HTTPResponse
        do {
            response = try await self.http.get(url)
        } catch {
            return Discovery(step: Self.networkFailure(name, url, error), jwksURI: nil, tokenEndpoint: nil)
        }
        guard response.status == 200, let json = response.jsonObject else {
            return Discovery(step: Self.providerError(name, url, response), jwksURI: nil, tokenEndpoint: nil)
        }
        guard let issuer = json["issuer"] as? String, let jwks = json["jwks_uri"] as? String,
            let token = json["token_endpoint"] as? String
        else {
            return Discovery(
                step: ConnectionStep(
                    name: name, outcome: .failed, detail: "\(url) is not an OpenID discovery document (no issuer, jwks_uri or token_endpoint)",
                    fix: "check the authority / issuer URL"
                ),
                jwksURI: nil, tokenEndpoint: nil
            )
        }
        let detail: String
        switch DiscoveredIssuer(
            issuer, provider: settings.provider, issuerURL: settings.issuerURL, directoryTenantID: settings.directoryTenantID, authority: self.authority
        ) {
        case .refused(let problem, let fix):
            return Discovery(
                step: ConnectionStep(name: name, outcome: .failed, detail: "the discovery document \(problem)", fix: fix),
                jwksURI: nil, tokenEndpoint: nil
            )
        case .configuredIssuer:
            detail = "the provider answers as \(issuer)"
        case .entraTemplate:
            detail = "the issuer is Entra's multi-tenant template \(issuer); tokens must name tenant \(settings.directoryTenantID)"
        case .entraTenant(let tenant):
            let named = SSOValidation.isGUID(settings.directoryTenantID) ? "" : " (\(settings.directoryTenantID) is tenant \(tenant))"
            detail = "the directory tenant exists; issuer \(issuer)\(named)"
        }
        return Discovery(step: ConnectionStep(name: name, outcome: .ok, detail: detail), jwksURI: jwks, tokenEndpoint: token)
    }

    private func signingKeys(_ url: String) async -> ConnectionStep {
        let name = "signing keys"
        let response: HTTPResponse
        do {
            response = try await self.http.get(url)
        } catch {
            return Self.networkFailure(name, url, error)
        }
        guard response.status == 200, let keys = response.jsonObject?["keys"] as? [[String: Any]] else {
            return Self.providerError(name, url, response)
        }
        let usable = keys.filter { key in
            guard key["kty"] as? String == "RSA", (key["use"] as? String).map({ $0 == "sig" }) ?? true,
                let n = (key["n"] as? String).flatMap(Base64URL.decode), let e = (key["e"] as? String).flatMap(Base64URL.decode)
            else { return false }
            return n.count >= 256 && !e.isEmpty
        }
        guard !usable.isEmpty else {
            return ConnectionStep(
                name: name, outcome: .failed, detail: "\(url) lists \(keys.count) key(s), none a usable RSA signing key (2048 bits or more)",
                fix: "the provider must publish RS256 signing keys; check the issuer"
            )
        }
        return ConnectionStep(name: name, outcome: .ok, detail: "\(usable.count) RSA signing key(s) at \(url)")
    }

    private func clientCredentials(_ url: String, _ settings: SSOSettings, secret: String) async -> ConnectionStep {
        let name = "client credentials"
        var form = [("grant_type", "client_credentials"), ("client_id", settings.clientID), ("client_secret", secret)]
        if settings.provider == .entraID { form.append(("scope", Self.graphScope)) }
        let response: HTTPResponse
        do {
            response = try await self.http.post(url, form: form)
        } catch {
            return Self.networkFailure(name, url, error)
        }
        if response.status == 200, response.jsonObject?["access_token"] is String {
            return ConnectionStep(
                name: name, outcome: .ok,
                detail: "client \(settings.clientID) exists in the tenant and its secret is valid (a token was issued)"
            )
        }
        return Self.providerError(name, url, response)
    }

    static func expiry(_ secret: SecretMetadata, today: Int) -> ConnectionStep {
        let name = "secret expiry"
        guard let expiresOn = secret.expiresOn, let days = secret.daysLeft(today: today) else {
            return ConnectionStep(
                name: name, outcome: .skipped, detail: "no expiry date was given for the secret",
                fix: "give --secret-expires YYYY-MM-DD when setting it, to be warned 30 days ahead"
            )
        }
        if days < 0 {
            return ConnectionStep(
                name: name, outcome: .failed, detail: "the secret expired on \(expiresOn)",
                fix: "create a new client secret (Certificates & secrets) and set it with milestone sso set"
            )
        }
        if days <= 30 {
            return ConnectionStep(
                name: name, outcome: .warning, detail: "the secret expires on \(expiresOn), in \(days) day(s)",
                fix: "create a new client secret (Certificates & secrets) and set it before then"
            )
        }
        return ConnectionStep(name: name, outcome: .ok, detail: "the secret expires on \(expiresOn), in \(days) days")
    }

    // MARK: Failures

    static func networkFailure(_ name: String, _ url: String, _ failure: HTTPFailure) -> ConnectionStep {
        let host = URL(string: url)?.host ?? url
        let fix: String = switch failure.kind {
        case .dns: "\(host) does not resolve: check the authority or issuer URL, and the server's DNS"
        case .connectionRefused: "nothing accepts connections at \(host): check the authority or issuer URL (MILESTONE_ENTRA_AUTHORITY) and firewalls"
        case .timeout: "\(host) did not answer in time: check the network path (proxy, firewall) from milestone-identity"
        case .tls: "the TLS certificate of \(host) could not be verified: check the system's CA certificates and any intercepting proxy"
        case .responseTooLarge: "\(host) sent more than expected: check the URL points at the identity provider"
        case .redirectToOtherHost: "\(host) redirects elsewhere: use the provider's final URL"
        case .other: "check the URL and the network from milestone-identity"
        }
        return ConnectionStep(name: name, outcome: .failed, detail: "\(url): \(failure.detail)", fix: fix)
    }

    /// An HTTP error from the provider: AADSTS codes translated into what to do.
    static func providerError(_ name: String, _ url: String, _ response: HTTPResponse) -> ConnectionStep {
        let json = response.jsonObject
        let description = json?["error_description"] as? String ?? ""
        let codes = (json?["error_codes"] as? [Int]) ?? Self.aadstsCode(in: description).map { [$0] } ?? []
        if let code = codes.first {
            let (meaning, fix) = Self.aadsts(code, description: description)
            return ConnectionStep(name: name, outcome: .failed, detail: "AADSTS\(code): \(meaning)", fix: fix)
        }
        let error = json?["error"] as? String
        return ConnectionStep(
            name: name, outcome: .failed,
            detail: "\(url) answered HTTP \(response.status)" + (error.map { ": \($0)" } ?? "") + (description.isEmpty ? "" : " (\(description.prefix(200)))"),
            fix: "check the configuration against the provider's application settings"
        )
    }

    static func aadstsCode(in description: String) -> Int? {
        guard description.hasPrefix("AADSTS") else { return nil }
        return Int(description.dropFirst(6).prefix { $0.isNumber })
    }

    /// What an AADSTS code means, and what to do.
    static func aadsts(_ code: Int, description: String) -> (meaning: String, fix: String) {
        switch code {
        case 90002:
            ("the directory tenant was not found", "check the Directory (tenant) ID: copy it from Entra ID > Overview, or use a verified domain")
        case 900023:
            ("the tenant id is not valid", "use the Directory (tenant) ID, a GUID, or a verified domain such as contoso.onmicrosoft.com")
        case 700016:
            ("the application (client id) was not found in the tenant", "check the Application (client) ID, and that the app is registered in this tenant (or is multi-tenant and consented there)")
        case 7000215:
            ("the client secret is not valid", "the secret's ID is often pasted instead of its value: copy the Value column when you create the secret (Certificates & secrets), then set it again")
        case 7000222:
            ("the client secret has expired", "create a new client secret (Certificates & secrets) and set it with milestone sso set")
        case 7000229:
            ("the application has no service principal in the tenant", "an administrator must consent to the app in this tenant (or create its enterprise application)")
        case 7000112:
            ("the application is disabled", "enable it in Enterprise applications > Properties (Enabled for users to sign in)")
        case 53003:
            ("access was blocked by Conditional Access policies", "ask the tenant's administrator to exclude this application or adjust the policy")
        default:
            (
                String(description.split(separator: ".").first.map { String($0) } ?? "an error").replacingOccurrences(of: "AADSTS\(code): ", with: ""),
                "look the code up at https://login.microsoftonline.com/error?code=\(code)"
            )
        }
    }
}
