import Foundation
import MilestoneHTTPClient

/// What sign-in needs of an identity provider's discovery document.
struct ProviderMetadata: Hashable, Sendable {
    /// May hold Entra's `{tenantid}` template (multi-tenant authorities).
    var issuer: String
    var authorizationEndpoint: String
    var tokenEndpoint: String
    var jwksURI: String
    /// `token_endpoint_auth_methods_supported` (empty when the document does not say: then, per OpenID
    /// Connect Discovery, `client_secret_basic`).
    var tokenEndpointAuthMethods: [String] = []
}

/// Discovery documents, fetched through libcurl and kept 24 hours (an unreachable provider is retried on
/// the next sign-in, not cached).
actor ProviderMetadataCache {
    private struct Entry {
        var metadata: ProviderMetadata
        var fetchedAt: Int64
    }

    private let http: HTTPClient
    private let lifetime: Int64 = 24 * 3_600_000_000
    private var entries: [String: Entry] = [:]

    init(http: HTTPClient) {
        self.http = http
    }

    /// The metadata at `url` (`…/.well-known/openid-configuration`).
    func metadata(at url: String, now: Int64) async throws(SignInError) -> ProviderMetadata {
        if let entry = self.entries[url], now - entry.fetchedAt < self.lifetime { return entry.metadata }
        guard let document = JSONValue.object(try await fetchFromProvider(self.http, url, what: "discovery document")) else {
            throw SignInError(
                .providerUnavailable, "The identity provider's discovery document is not JSON.",
                fix: "An administrator should run Test Connection: the directory tenant or issuer may be wrong."
            )
        }
        func endpoint(_ name: String) throws(SignInError) -> String {
            guard let value = document[name]?.stringValue, (try? SSOValidation.httpsURL(value, field: name)) != nil else {
                throw SignInError(
                    .providerUnavailable, "The identity provider's discovery document has no usable \(name).",
                    fix: "An administrator should run Test Connection."
                )
            }
            return value
        }
        let metadata = ProviderMetadata(
            issuer: try endpoint("issuer"),
            authorizationEndpoint: try endpoint("authorization_endpoint"),
            tokenEndpoint: try endpoint("token_endpoint"),
            jwksURI: try endpoint("jwks_uri"),
            tokenEndpointAuthMethods: {
                guard case .array(let methods)? = document["token_endpoint_auth_methods_supported"] else { return [] }
                return methods.compactMap(\.stringValue)
            }()
        )
        if self.entries.count > 1000 { self.entries.removeAll() }
        self.entries[url] = Entry(metadata: metadata, fetchedAt: now)
        return metadata
    }
}

/// GETs `url` from an identity provider (the `what` of a sign-in: its discovery document, its signing keys)
/// and returns the body of a 200 answer; anything else is a ``SignInError`` saying what could not be fetched.
func fetchFromProvider(_ http: HTTPClient, _ url: String, what: String) async throws(SignInError) -> [UInt8] {
    let response: HTTPResponse
    do throws(HTTPFailure) {
        response = try await http.get(url)
    } catch {
        throw SignInError(
            .providerUnavailable, "The identity provider's \(what) could not be fetched (\(error.kind)).",
            fix: "Try again in a moment; if it persists, an administrator should run Test Connection."
        )
    }
    guard response.status == 200 else {
        throw SignInError(
            .providerUnavailable, "The identity provider's \(what) could not be fetched (HTTP \(response.status)).",
            fix: "An administrator should run Test Connection: the directory tenant or issuer may be wrong."
        )
    }
    return response.body
}
