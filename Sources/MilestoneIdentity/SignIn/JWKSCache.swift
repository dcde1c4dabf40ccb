import MilestoneCrypto
import MilestoneHTTPClient

/// Signing keys by JWKS URL and `kid`, kept 24 hours. A token signed with a `kid` the cache does not know
/// makes it fetch the JWKS again — at most once per 5 minutes per URL (a flood of tokens with made-up key
/// ids cannot make the service hammer the provider) — then the token is refused.
actor JWKSCache {
    private struct Entry {
        var keys: [String: RSAPublicKey]
        var fetchedAt: Int64
    }

    typealias Fetch = @Sendable (String) async throws(SignInError) -> [UInt8]

    private let fetch: Fetch
    let lifetime: Int64
    let refetchInterval: Int64
    private var entries: [String: Entry] = [:]
    private var inFlight: [String: Task<Entry, any Error>] = [:]
    /// How many times a JWKS was fetched (for tests).
    private(set) var fetches = 0

    init(fetch: @escaping Fetch, lifetime: Duration = .seconds(24 * 3600), refetchInterval: Duration = .seconds(300)) {
        self.fetch = fetch
        self.lifetime = lifetime.microseconds
        self.refetchInterval = refetchInterval.microseconds
    }

    init(http: HTTPClient) {
        self.init(fetch: { url throws(SignInError) in try await fetchFromProvider(http, url, what: "signing keys") })
    }

    /// The key `kid` of the JWKS at `url`; without a `kid` (which OpenID Connect allows when the provider
    /// has one key), its only key.
    func key(_ kid: String?, url: String, now: Int64) async throws -> RSAPublicKey {
        guard let kid else {
            let entry: Entry
            if let cached = self.entries[url], now - cached.fetchedAt < self.lifetime {
                entry = cached
            } else {
                entry = try await self.refresh(url: url, now: now)
            }
            guard entry.keys.count == 1, let only = entry.keys.values.first else {
                throw IDTokenError.claim("header", "names no key id (kid), and the identity provider has \(entry.keys.count) keys")
            }
            return only
        }
        if let entry = self.entries[url], now - entry.fetchedAt < self.lifetime {
            if let key = entry.keys[kid] { return key }
            guard now - entry.fetchedAt >= self.refetchInterval else {
                throw IDTokenError.claim("key id (kid)", "names no key of the identity provider (its keys were fetched less than 5 minutes ago)")
            }
        }
        let entry = try await self.refresh(url: url, now: now)
        guard let key = entry.keys[kid] else {
            throw IDTokenError.claim("key id (kid)", "names no key of the identity provider")
        }
        return key
    }

    private func refresh(url: String, now: Int64) async throws -> Entry {
        if let task = self.inFlight[url] { return try await task.value }
        let fetch = self.fetch
        let task = Task<Entry, any Error> {
            let bytes = try await fetch(url)
            return Entry(keys: Self.parse(bytes), fetchedAt: now)
        }
        self.inFlight[url] = task
        self.fetches += 1
        defer { self.inFlight[url] = nil }
        do {
            let entry = try await task.value
            if self.entries.count > 1000 { self.entries.removeAll() }
            self.entries[url] = entry
            return entry
        } catch {
            // A failed fetch still counts against the refetch interval when keys are cached.
            if var stale = self.entries[url] {
                stale.fetchedAt = max(stale.fetchedAt, now - self.lifetime + self.refetchInterval)
                self.entries[url] = stale
            }
            throw error
        }
    }

    /// The usable RSA signing keys of a JWKS document, by `kid`.
    static func parse(_ bytes: [UInt8]) -> [String: RSAPublicKey] {
        guard case .array(let keys)? = JSONValue.object(bytes)?["keys"] else { return [:] }
        var usable: [String: RSAPublicKey] = [:]
        for case .object(let jwk) in keys.prefix(100) {
            guard jwk["kty"]?.stringValue == "RSA",
                let kid = jwk["kid"]?.stringValue,
                jwk["use"].map({ $0.stringValue == "sig" }) ?? true,
                jwk["alg"].map({ $0.stringValue == "RS256" }) ?? true,
                let n = jwk["n"]?.stringValue.flatMap(Base64URL.decode),
                let e = jwk["e"]?.stringValue.flatMap(Base64URL.decode),
                let key = try? RSAPublicKey(modulus: n, exponent: e)
            else { continue }
            usable[kid] = key
        }
        return usable
    }
}
