public import Foundation
public import MilestoneCrypto
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local stand-in for Microsoft Entra ID's v2 endpoints, for tests and local development — never a
/// production identity provider (anyone who can reach it can sign in as any configured user). For the
/// tenants, applications and users it is given it serves:
/// - `GET /{tenant}/v2.0/.well-known/openid-configuration` (tenant by id or domain);
/// - `GET /{tenant-id}/discovery/v2.0/keys` (the JWKS: the current RSA signing key and the rotated ones);
/// - `GET /{tenant}/oauth2/v2.0/authorize`: an HTML account picker; `POST` the same path with the
///   authorize parameters and `account` (an email or object id; or `cancel=1`) for automation: a 302 to the
///   redirect URI with `code` and `state` (or `error`);
/// - `POST /{tenant}/oauth2/v2.0/token` with `grant_type=authorization_code` (checks the client secret,
///   the redirect URI, PKCE S256 and that a code is used once, within 10 minutes) or `client_credentials`;
/// - `POST /_emulator/rotate-keys`: a new signing key (the old ones stay in the JWKS).
/// Errors are Entra-shaped (`error`, `error_description` starting with `AADSTS…:`, `error_codes`).
public final class EntraEmulator: Sendable {
    public struct Application: Sendable, Codable {
        public var clientID: String
        /// The client secret, or empty when only its hash is kept (``secretSHA256``).
        public var secret: String
        /// Base64url SHA-256 of the client secret: a configuration file then never holds the secret itself.
        public var secretSHA256: String?
        public var secretExpired: Bool
        public var disabled: Bool
        /// Redirect URIs registered for the application; empty accepts any.
        public var redirectURIs: [String]

        public init(
            clientID: String, secret: String = "", secretSHA256: String? = nil, secretExpired: Bool = false, disabled: Bool = false,
            redirectURIs: [String] = []
        ) {
            self.clientID = clientID.lowercased()
            self.secret = secret
            self.secretSHA256 = secretSHA256
            self.secretExpired = secretExpired
            self.disabled = disabled
            self.redirectURIs = redirectURIs
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                clientID: try container.decode(String.self, forKey: .clientID),
                secret: try container.decodeIfPresent(String.self, forKey: .secret) ?? "",
                secretSHA256: try container.decodeIfPresent(String.self, forKey: .secretSHA256),
                secretExpired: try container.decodeIfPresent(Bool.self, forKey: .secretExpired) ?? false,
                disabled: try container.decodeIfPresent(Bool.self, forKey: .disabled) ?? false,
                redirectURIs: try container.decodeIfPresent([String].self, forKey: .redirectURIs) ?? []
            )
        }

        /// True when `given` is this application's secret.
        func accepts(_ given: String?) -> Bool {
            guard let given, !given.isEmpty else { return false }
            if let hash = self.secretSHA256 {
                return Crypto.constantTimeEqual(Array(Base64URL.encode(Crypto.sha256(Array(given.utf8))).utf8), Array(hash.utf8))
            }
            return Crypto.constantTimeEqual(Array(given.utf8), Array(self.secret.utf8))
        }
    }

    /// A person who can sign in.
    public struct User: Sendable, Codable {
        /// The object id (a GUID).
        public var objectID: String
        public var email: String
        public var name: String

        public init(objectID: String = UUID().uuidString.lowercased(), email: String, name: String) {
            self.objectID = objectID.lowercased()
            self.email = email
            self.name = name
        }
    }

    public struct Tenant: Sendable, Codable {
        /// The directory (tenant) id, a GUID.
        public var id: String
        /// Verified domains that name it too (e.g. `contoso.onmicrosoft.com`).
        public var domains: [String]
        public var applications: [Application]
        public var users: [User]
        /// Serve a JWKS without keys (to test that check).
        public var emptyJWKS: Bool

        public init(id: String, domains: [String] = [], applications: [Application], users: [User] = [], emptyJWKS: Bool = false) {
            self.id = id.lowercased()
            self.domains = domains.map { $0.lowercased() }
            self.applications = applications
            self.users = users
            self.emptyJWKS = emptyJWKS
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                id: try container.decode(String.self, forKey: .id),
                domains: try container.decodeIfPresent([String].self, forKey: .domains) ?? [],
                applications: try container.decode([Application].self, forKey: .applications),
                users: try container.decodeIfPresent([User].self, forKey: .users) ?? [],
                emptyJWKS: try container.decodeIfPresent(Bool.self, forKey: .emptyJWKS) ?? false
            )
        }
    }

    /// A signing key and its `kid`.
    public struct SigningKey: Sendable {
        public var id: String
        public var key: RSAPrivateKey
        var jwk: [String: String]

        public init(id: String, key: RSAPrivateKey) throws {
            let (n, e) = try key.publicComponents()
            self.id = id
            self.key = key
            self.jwk = ["kty": "RSA", "use": "sig", "kid": id, "alg": "RS256", "n": Base64URL.encode(n), "e": Base64URL.encode(e)]
        }
    }

    /// An ID token about to be signed, for tests that forge bad ones: the header and claims as JSON objects,
    /// and the emulator's signature of any signing input.
    public struct Minting: @unchecked Sendable {
        public var header: [String: Any]
        public var claims: [String: Any]
        public let sign: @Sendable (String) -> String
    }

    private struct IssuedCode {
        var tenantID: String
        var clientID: String
        var redirectURI: String
        var challenge: String
        var nonce: String?
        var user: User
        var issuedAt: Date
        var redeemed: Bool
    }

    private let tenants: [Tenant]
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    /// The paths of the last 1,000 requests (for tests; bounded for a long-running emulator).
    private let requests = Mutex<[String]>([])
    /// Newest first; the first signs.
    private let keys: Mutex<[SigningKey]>
    private let codes = Mutex<[String: IssuedCode]>([:])
    private let minter = Mutex<(@Sendable (Minting) -> String)?>(nil)
    private let issuerTemplate = Mutex(false)

    /// - Parameter signingKey: the key to sign with (default: a new 2048-bit key).
    public init(tenants: [Tenant], signingKey: SigningKey? = nil) throws {
        self.tenants = tenants
        self.keys = Mutex([try signingKey ?? SigningKey(id: "emulator-\(UUID().uuidString.prefix(8).lowercased())", key: RSAPrivateKey())])
    }

    /// The base URL clients use as the authority, once started: `http://127.0.0.1:PORT`.
    public private(set) var authority: String {
        get { self.authorityValue.withLock { $0 } }
        set { self.authorityValue.withLock { $0 = newValue } }
    }
    private let authorityValue = Mutex("")

    public var requestPaths: [String] { self.requests.withLock { $0 } }

    /// The `kid` ID tokens are signed with now.
    public var currentKeyID: String { self.keys.withLock { $0[0].id } }

    /// Signs with a new key from now on; the old ones stay in the JWKS. Returns the new `kid`.
    @discardableResult
    public func rotateKeys() throws -> String {
        let key = try SigningKey(id: "emulator-\(UUID().uuidString.prefix(8).lowercased())", key: RSAPrivateKey())
        self.keys.withLock { keys in
            keys.insert(key, at: 0)
            if keys.count > 5 { keys.removeLast() }
        }
        return key.id
    }

    /// Has the next ID tokens built by `mint` (nil: honest tokens again). For tests of token validation.
    public func forgeIDTokens(_ mint: (@Sendable (Minting) -> String)?) {
        self.minter.withLock { $0 = mint }
    }

    /// Has discovery documents name Entra's multi-tenant issuer template, `{authority}/{tenantid}/v2.0`,
    /// instead of the tenant's own issuer (as Entra's `organizations` and `common` documents do); ID tokens
    /// still carry the tenant's issuer. For tests of issuer checks.
    public func serveIssuerTemplate(_ template: Bool) {
        self.issuerTemplate.withLock { $0 = template }
    }

    /// Listens on 127.0.0.1 (port 0 picks a free one).
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(emulator: self))
                }
            }
            .bind(host: host, port: port)
            .get()
        self.channel.withLock { $0 = channel }
        self.authority = "http://\(host):\(channel.localAddress?.port ?? port)"
    }

    /// Runs until the listening channel closes.
    public func waitUntilClosed() async throws {
        try await self.channel.withLock { $0 }?.closeFuture.get()
    }

    public func stop() async throws {
        try await self.channel.withLock { $0 }?.close()
    }

    // MARK: Answers

    struct Answer: Error {
        var status: HTTPResponseStatus
        var contentType = "application/json; charset=utf-8"
        var body: [UInt8]
        var location: String?

        static func json(_ status: HTTPResponseStatus, _ object: [String: Any]) -> Answer {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return Answer(status: status, body: Array(data))
        }

        static func html(_ status: HTTPResponseStatus, _ text: String) -> Answer {
            Answer(status: status, contentType: "text/html; charset=utf-8", body: Array(text.utf8))
        }

        static func redirect(_ location: String) -> Answer {
            Answer(status: .found, contentType: "text/plain", body: [], location: location)
        }
    }

    func answer(method: HTTPMethod, path: String, body: String, authorization: String? = nil) -> Answer {
        self.requests.withLock { requests in
            if requests.count >= 1000 { requests.removeFirst(requests.count - 999) }
            requests.append(String(path.prefix(2048)))
        }
        let pieces = path.split(separator: "?", maxSplits: 1)
        let query = pieces.count > 1 ? Self.form(String(pieces[1])) : [:]
        let parts = pieces.first.map { $0.split(separator: "/").map(String.init) } ?? []
        guard let first = parts.first else { return .json(.notFound, ["error": "not_found"]) }
        if first == "_emulator" {
            guard method == .POST, parts == ["_emulator", "rotate-keys"], let kid = try? self.rotateKeys() else {
                return .json(.notFound, ["error": "not_found"])
            }
            return .json(.ok, ["kid": kid])
        }
        guard let tenant = self.tenant(named: first) else {
            return self.error(
                .badRequest, "invalid_tenant", 90002,
                "Tenant '\(first.prefix(100))' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            )
        }
        let base = "\(self.authority)/\(tenant.id)"
        switch (method, Array(parts.dropFirst())) {
        case (.GET, ["v2.0", ".well-known", "openid-configuration"]):
            return .json(.ok, [
                "issuer": self.issuerTemplate.withLock { $0 } ? "\(self.authority)/{tenantid}/v2.0" : "\(base)/v2.0",
                "authorization_endpoint": "\(base)/oauth2/v2.0/authorize",
                "token_endpoint": "\(base)/oauth2/v2.0/token",
                "jwks_uri": "\(base)/discovery/v2.0/keys",
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "tenant_region_scope": "EU",
            ])
        case (.GET, ["discovery", "v2.0", "keys"]):
            return .json(.ok, ["keys": tenant.emptyJWKS ? [] : self.keys.withLock { $0.map(\.jwk) }])
        case (.GET, ["oauth2", "v2.0", "authorize"]):
            return self.authorize(tenant, query, choice: nil)
        case (.POST, ["oauth2", "v2.0", "authorize"]):
            let form = Self.form(body)
            return self.authorize(tenant, form, choice: form["cancel"] == "1" ? .cancel : .account(form["account"] ?? ""))
        case (.POST, ["oauth2", "v2.0", "token"]):
            var form = Self.form(body)
            // client_secret_basic: the client id and secret in an HTTP Basic header, each form-encoded.
            if let authorization, authorization.hasPrefix("Basic "),
                let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            {
                func decode(_ part: Substring) -> String { String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part) }
                form["client_id"] = decode(decoded[..<colon])
                form["client_secret"] = decode(decoded[decoded.index(after: colon)...])
            }
            return self.token(tenant, form: form)
        default:
            return .json(.notFound, ["error": "not_found"])
        }
    }

    private enum Choice {
        case account(String)
        case cancel
    }

    private func authorize(_ tenant: Tenant, _ parameters: [String: String], choice: Choice?) -> Answer {
        let clientID = (parameters["client_id"] ?? "").lowercased()
        guard let application = tenant.applications.first(where: { $0.clientID == clientID }) else {
            return self.errorPage(700016, "Application with identifier '\(clientID.prefix(64))' was not found in the directory '\(tenant.id)'.")
        }
        guard let redirectURI = parameters["redirect_uri"], let redirect = URL(string: redirectURI), redirect.scheme?.hasPrefix("http") == true,
            application.redirectURIs.isEmpty || application.redirectURIs.contains(redirectURI)
        else {
            return self.errorPage(50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application '\(clientID)'.")
        }
        guard parameters["response_type"] == "code" else {
            return self.errorPage(900144, "The request body must contain the following parameter: 'response_type' = 'code'.")
        }
        guard parameters["code_challenge_method"] == "S256", let challenge = parameters["code_challenge"], !challenge.isEmpty else {
            return self.errorPage(501491, "Invalid size of Code_Challenge parameter (this emulator requires PKCE with S256).")
        }
        let state = parameters["state"] ?? ""
        func back(_ items: [(String, String)]) -> Answer {
            var components = URLComponents(string: redirectURI)!
            components.percentEncodedQuery = ((components.percentEncodedQuery.map { [$0] } ?? []) + items.map { key, value in
                Self.percentEncoded(key) + "=" + Self.percentEncoded(value)
            }).joined(separator: "&")
            return .redirect(components.string ?? redirectURI)
        }
        switch choice {
        case nil:
            return .html(.ok, self.picker(tenant, application, parameters))
        case .cancel:
            return back([
                ("error", "access_denied"),
                ("error_description", "AADSTS65004: User declined to consent to access the app."), ("state", state),
            ])
        case .account(let account):
            let account = account.lowercased()
            guard let user = tenant.users.first(where: { $0.objectID == account || $0.email.lowercased() == account }) else {
                return self.errorPage(50034, "The user account does not exist in the '\(tenant.id)' directory.")
            }
            let code = Base64URL.encode((try? Crypto.randomBytes(32)) ?? [])
            self.codes.withLock { codes in
                codes = codes.filter { $0.value.issuedAt.timeIntervalSinceNow > -900 }
                // Bounded whatever a client does: past 10,000 codes in 15 minutes the oldest goes.
                if codes.count >= 10_000, let oldest = codes.min(by: { $0.value.issuedAt < $1.value.issuedAt })?.key {
                    codes[oldest] = nil
                }
                codes[code] = IssuedCode(
                    tenantID: tenant.id, clientID: clientID, redirectURI: redirectURI, challenge: challenge, nonce: parameters["nonce"],
                    user: user, issuedAt: Date(), redeemed: false
                )
            }
            return back([("code", code), ("state", state), ("session_state", UUID().uuidString.lowercased())])
        }
    }

    /// The account picker: one button per user, posting the authorize parameters back (no JavaScript).
    private func picker(_ tenant: Tenant, _ application: Application, _ parameters: [String: String]) -> String {
        let hidden = parameters.sorted { $0.key < $1.key }.map {
            "<input type=\"hidden\" name=\"\(Self.escape($0.key))\" value=\"\(Self.escape($0.value))\">"
        }.joined(separator: "\n      ")
        let hint = parameters["login_hint"]?.lowercased()
        let accounts = tenant.users.map { user in
            let preselected = user.email.lowercased() == hint ? " autofocus" : ""
            return """
                <li><button type="submit" name="account" value="\(Self.escape(user.email))"\(preselected)>\
                <strong>\(Self.escape(user.name))</strong> <span>\(Self.escape(user.email))</span></button></li>
                """
        }.joined(separator: "\n      ")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Pick an account — Entra emulator</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
            ul{list-style:none;padding:0}button{display:block;width:100%;text-align:left;padding:.75rem;margin:.5rem 0;font-size:1rem}
            span{display:block;color:#555}.note{color:#a00;font-size:.9rem}</style></head>
            <body><main>
            <h1>Pick an account</h1>
            <p>to continue to application <code>\(Self.escape(application.clientID))</code> (tenant <code>\(Self.escape(tenant.id))</code>)</p>
            <form method="post">
              \(hidden)
              <ul>
              \(accounts)
              </ul>
              <button type="submit" name="cancel" value="1">Cancel</button>
            </form>
            <p class="note">Local Entra ID emulator (milestone-dev-idp): for development and tests only, never a production identity provider.</p>
            </main></body></html>
            """
    }

    private func token(_ tenant: Tenant, form: [String: String]) -> Answer {
        let clientID = (form["client_id"] ?? "").lowercased()
        guard let grant = form["grant_type"], grant == "client_credentials" || grant == "authorization_code" else {
            return self.error(.badRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        }
        guard let application = tenant.applications.first(where: { $0.clientID == clientID }) else {
            return self.error(
                .badRequest, "unauthorized_client", 700016,
                "Application with identifier '\(clientID.prefix(64))' was not found in the directory '\(tenant.id)'."
            )
        }
        if application.disabled {
            return self.error(.badRequest, "unauthorized_client", 7000112, "Application '\(clientID)' is disabled.")
        }
        guard application.accepts(form["client_secret"]) else {
            return self.error(
                .unauthorized, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(clientID)'."
            )
        }
        if application.secretExpired {
            return self.error(
                .unauthorized, "invalid_client", 7000222,
                "The provided client secret keys for app '\(clientID)' are expired. Visit the Azure portal to create new keys for your app."
            )
        }
        guard grant == "authorization_code" else {
            return .json(.ok, [
                "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": "emulated.\(UUID().uuidString)",
            ])
        }
        let code = form["code"] ?? ""
        let checked: Result<IssuedCode, Answer> = self.codes.withLock { codes in
            guard var issued = codes[code], issued.tenantID == tenant.id else {
                return .failure(self.error(.badRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid (unknown authorization code)."))
            }
            guard !issued.redeemed else {
                return .failure(self.error(.badRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."))
            }
            issued.redeemed = true
            codes[code] = issued
            guard issued.issuedAt.timeIntervalSinceNow > -600 else {
                return .failure(self.error(.badRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity."))
            }
            guard issued.clientID == clientID else {
                return .failure(self.error(.badRequest, "invalid_grant", 70002, "The client does not match the one the code was issued to."))
            }
            guard form["redirect_uri"] == issued.redirectURI else {
                return .failure(self.error(.badRequest, "invalid_grant", 70002, "The reply URL does not match the one used to request the authorization code."))
            }
            let verifier = form["code_verifier"] ?? ""
            guard Base64URL.encode(Crypto.sha256(Array(verifier.utf8))) == issued.challenge else {
                return .failure(self.error(.badRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."))
            }
            return .success(issued)
        }
        switch checked {
        case .failure(let answer):
            return answer
        case .success(let issued):
            return .json(.ok, [
                "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "scope": "openid profile email",
                "access_token": "emulated.\(UUID().uuidString)",
                "id_token": self.idToken(tenant: tenant, clientID: clientID, user: issued.user, nonce: issued.nonce),
            ])
        }
    }

    /// An RS256 ID token as Entra issues them (v2.0), or as a test's minter forges it.
    private func idToken(tenant: Tenant, clientID: String, user: User, nonce: String?) -> String {
        let key = self.keys.withLock { $0[0] }
        let now = Int(Date().timeIntervalSince1970)
        var claims: [String: Any] = [
            "aud": clientID, "iss": "\(self.authority)/\(tenant.id)/v2.0", "iat": now, "nbf": now, "exp": now + 3600,
            "name": user.name, "preferred_username": user.email, "email": user.email, "oid": user.objectID,
            "sub": Base64URL.encode(Crypto.sha256(Array("\(user.objectID):\(clientID)".utf8))), "tid": tenant.id, "ver": "2.0",
        ]
        if let nonce { claims["nonce"] = nonce }
        let header: [String: Any] = ["alg": "RS256", "typ": "JWT", "kid": key.id]
        let sign: @Sendable (String) -> String = { input in
            Base64URL.encode((try? key.key.signSHA256(Array(input.utf8))) ?? [])
        }
        if let minter = self.minter.withLock({ $0 }) {
            return minter(Minting(header: header, claims: claims, sign: sign))
        }
        return Self.compact(header: header, claims: claims, sign: sign)
    }

    /// `base64url(header).base64url(claims).signature`.
    public static func compact(header: [String: Any], claims: [String: Any], sign: (String) -> String) -> String {
        func part(_ object: [String: Any]) -> String {
            Base64URL.encode(Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()))
        }
        let input = part(header) + "." + part(claims)
        return input + "." + sign(input)
    }

    private func tenant(named name: String) -> Tenant? {
        let name = name.lowercased()
        return self.tenants.first { $0.id == name || $0.domains.contains(name) }
    }

    private func error(_ status: HTTPResponseStatus, _ error: String, _ code: Int, _ description: String) -> Answer {
        .json(status, [
            "error": error,
            "error_description": "AADSTS\(code): \(description) Trace ID: \(UUID().uuidString.lowercased())",
            "error_codes": [code],
            "timestamp": ISO8601DateFormatter().string(from: Date()),
        ])
    }

    private func errorPage(_ code: Int, _ description: String) -> Answer {
        .html(.badRequest, """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head>
            <body><main><h1>Sorry, but we're having trouble signing you in.</h1>
            <p>AADSTS\(code): \(Self.escape(description))</p></main></body></html>
            """)
    }

    static func form(_ body: String) -> [String: String] {
        var values: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        return values
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }
}

/// One HTTP/1.1 connection: collects a request, answers it.
private final class Handler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let emulator: EntraEmulator
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(emulator: EntraEmulator) {
        self.emulator = emulator
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
        case .body(var chunk):
            if self.body.readableBytes + chunk.readableBytes <= 64 * 1024 { self.body.writeBuffer(&chunk) }
        case .end:
            guard let head = self.head else { return }
            let answer = self.emulator.answer(
                method: head.method, path: head.uri, body: String(buffer: self.body), authorization: head.headers.first(name: "Authorization")
            )
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: answer.contentType)
            headers.add(name: "Content-Length", value: "\(answer.body.count)")
            headers.add(name: "Cache-Control", value: "no-store")
            if let location = answer.location { headers.add(name: "Location", value: location) }
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}
