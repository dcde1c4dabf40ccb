import Foundation
public import Logging
import MilestoneCrypto
import MilestoneHTTPClient
public import MilestoneRPC
public import MilestoneWire

/// Sign-in (StartLogin, CompleteLogin), sessions and users. The HTTP edge calls ``startSignIn(tenantSlug:returnTo:loginHint:logger:)``
/// and ``completeSignIn(_:logger:)`` in process; other services call the RPCs.
extension IdentityService {
    /// A started sign-in.
    public struct StartedSignIn: Sendable {
        public var authorizeURL: String
        public var state: String
        public var expiresAt: Int64
    }

    /// A finished sign-in: the user (and whether it was just created), the session and its token (shown once).
    public struct CompletedSignIn: Sendable {
        public var user: UserRecord
        public var created: Bool
        public var session: SessionRecord
        public var sessionToken: String
        public var returnTo: String
    }

    /// The callback's parameters.
    public struct Callback: Sendable {
        public var tenantSlug: String
        public var state: String
        public var code: String
        public var error: String
        public var errorDescription: String

        public init(tenantSlug: String, state: String, code: String, error: String = "", errorDescription: String = "") {
            self.tenantSlug = tenantSlug
            self.state = state
            self.code = code
            self.error = error
            self.errorDescription = errorDescription
        }
    }

    /// What the login screen shows.
    public struct LoginScreen: Sendable {
        /// The tenant's display name (or the site's, for the instance).
        public var title: String
        public var organizationName: String?
        /// Nil when single sign-on applies; otherwise why it does not.
        public var notConfigured: SignInError?
    }

    /// The login screen of `tenantSlug` (empty: the instance).
    public func loginScreen(tenantSlug: String, logger: Logger) async throws -> LoginScreen {
        let title = tenantSlug.isEmpty ? "Milestone" : try await self.directory.displayName(slug: tenantSlug)
        let effective = try await self.effective(tenantSlug: tenantSlug, logger: logger)
        return LoginScreen(
            title: title, organizationName: effective.organization?.name,
            notConfigured: effective.settings == nil ? Self.notConfigured(tenantSlug) : nil
        )
    }

    /// The service's clock now (microseconds since 1970).
    public var currentMicros: Int64 { self.now() }

    /// Where a sign-in lands by default: the tenant's home (`/t/{slug}/`) or the site's (`/`).
    public static func home(tenantSlug: String) -> String {
        tenantSlug.isEmpty ? "/" : "/t/\(tenantSlug)/"
    }

    // MARK: Sign-in

    /// Resolves the tenant's effective configuration, records a pending sign-in (state, nonce, PKCE
    /// verifier) and returns the identity provider's authorize URL.
    public func startSignIn(tenantSlug: String, returnTo: String, loginHint: String, logger: Logger) async throws -> StartedSignIn {
        let returnTo = try ReturnPath.checked(returnTo.isEmpty ? Self.home(tenantSlug: tenantSlug) : returnTo)
        guard loginHint.utf8.count <= 256, !loginHint.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw IdentityError.invalid("login_hint", "must be an email address or user name of at most 256 bytes")
        }
        let effective = try await self.effective(tenantSlug: tenantSlug, logger: logger)
        guard let settings = effective.settings else { throw Self.notConfigured(tenantSlug) }
        let now = self.now()
        let state = Base64URL.encode(try Crypto.randomBytes(32))
        let nonce = Base64URL.encode(try Crypto.randomBytes(32))
        let verifier = Base64URL.encode(try Crypto.randomBytes(32))
        let challenge = Base64URL.encode(Crypto.sha256(Array(verifier.utf8)))
        let endpoint: String
        switch settings.provider {
        case .entraID:
            endpoint = "\(self.configuration.entraAuthority)/\(settings.directoryTenantID)/oauth2/v2.0/authorize"
        case .oidc:
            endpoint = try await self.providerMetadata(settings, now: now, logger: logger).metadata.authorizationEndpoint
        }
        var query: [(String, String)] = [
            ("client_id", settings.clientID), ("response_type", "code"), ("response_mode", "query"),
            ("scope", "openid profile email"), ("redirect_uri", effective.redirectURI), ("state", state), ("nonce", nonce),
            ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ]
        if !loginHint.isEmpty { query.append(("login_hint", loginHint)) }
        let expiresAt = now + self.configuration.signInLifetime.microseconds
        try await self.pending.insert(
            PendingSignIn(
                state: state, tenantSlug: tenantSlug, configurationScope: settings.scope.key, configurationVersion: settings.version,
                nonce: nonce, codeVerifier: verifier, redirectURI: effective.redirectURI, returnTo: returnTo,
                createdAt: now, expiresAt: expiresAt
            ),
            logger: logger
        )
        logger.info("sign-in started", metadata: ["tenant": "\(tenantSlug)", "configuration": "\(settings.scope)"])
        return StartedSignIn(
            authorizeURL: endpoint + (endpoint.contains("?") ? "&" : "?") + HTTPClient.formEncoded(query),
            state: state, expiresAt: expiresAt
        )
    }

    /// Consumes the pending sign-in of `callback.state` (once), redeems the code, validates the ID token,
    /// creates or updates the user and opens a session.
    public func completeSignIn(_ callback: Callback, logger: Logger) async throws -> CompletedSignIn {
        let clock = ContinuousClock()
        let started = clock.now
        var atProvider = Duration.zero
        guard !callback.state.isEmpty, callback.state.utf8.count <= 128 else {
            throw SignInError(.invalidRequest, "The sign-in answer has no valid state.", fix: "Start signing in again from the login page.")
        }
        guard let pending = try await self.pending.consume(state: callback.state, logger: logger) else {
            throw SignInError(
                .unknownState, "This sign-in was already completed, or was never started here.",
                fix: "Start signing in again from the login page."
            )
        }
        let now = self.now()
        guard pending.expiresAt > now else {
            throw SignInError(.expired, "This sign-in took longer than 10 minutes and has expired.", fix: "Start signing in again from the login page.")
        }
        guard pending.tenantSlug == callback.tenantSlug else {
            throw SignInError(
                .tenantMismatch, "This sign-in was started for another tenant.", fix: "Start signing in again from your tenant's login page."
            )
        }
        if !callback.error.isEmpty {
            throw Self.providerError(callback.error, callback.errorDescription)
        }
        guard !callback.code.isEmpty, callback.code.utf8.count <= 8192 else {
            throw SignInError(.invalidRequest, "The identity provider sent no authorization code.", fix: "Start signing in again from the login page.")
        }
        let effective = try await self.effective(tenantSlug: pending.tenantSlug, logger: logger)
        guard let settings = effective.settings, settings.scope.key == pending.configurationScope,
            settings.version == pending.configurationVersion
        else {
            throw SignInError(
                .configurationChanged, "The single sign-on configuration changed while you were signing in.",
                fix: "Start signing in again from the login page."
            )
        }
        let secret: String
        if settings.scope == .instance, let environment = self.configuration.instanceEnvironment {
            secret = environment.clientSecret
        } else {
            secret = try await self.store.clientSecret(settings.scope)
        }
        let providerStarted = clock.now
        let (metadata, discovered) = try await self.providerMetadata(settings, now: now, logger: logger)
        let idToken = try await self.redeem(code: callback.code, metadata: metadata, settings: settings, secret: secret, pending: pending)
        atProvider += clock.now - providerStarted
        let identity: VerifiedIdentity
        do {
            identity = try await self.validator.validate(
                idToken, jwksURI: metadata.jwksURI,
                expecting: IDTokenExpectations(
                    provider: settings.provider, issuer: metadata.issuer, clientID: settings.clientID, nonce: pending.nonce,
                    directoryTenantID: discovered.directoryTenant
                ),
                now: now
            )
        } catch let error as IDTokenError {
            logger.warning("sign-in refused: ID token not valid", metadata: ["tenant": "\(pending.tenantSlug)", "reason": "\(error)"])
            throw SignInError(
                .invalidToken, "The identity provider's answer could not be trusted: \(error).",
                fix: "Start signing in again; if it persists, an administrator should run Test Connection."
            )
        }
        let token = Base64URL.encode(try Crypto.randomBytes(32))
        let (user, created, session) = try await self.accounts.signIn(
            identity, tenantSlug: pending.tenantSlug, tokenHash: Self.tokenHash(token), now: now, logger: logger
        )
        let total = clock.now - started
        // own-us: the service's own time (database, validation, crypto), without the identity provider's
        // round trips (provider-us: discovery when not cached, and the code's redemption).
        logger.info(
            "signed in",
            metadata: [
                "tenant": "\(pending.tenantSlug)", "user": "\(user.id)", "created": "\(created)", "session": "\(session.id)",
                "own-us": "\((total - atProvider).microseconds)", "provider-us": "\(atProvider.microseconds)",
            ]
        )
        return CompletedSignIn(user: user, created: created, session: session, sessionToken: token, returnTo: pending.returnTo)
    }

    /// The live session of `token` and its user (sliding its idle expiry).
    ///
    /// - Throws: ``IdentityError`` UNAUTHENTICATED for an unknown, revoked or expired session, or one of
    ///   another tenant (unless `anyTenant`); the same message for each, so it tells an attacker nothing.
    public func validateSession(token: String, tenantSlug: String, anyTenant: Bool = false, logger: @autoclosure () -> Logger) async throws -> (user: UserRecord, session: SessionRecord) {
        let refused = IdentityError(.unauthenticated, "the session is unknown, expired or revoked: sign in again")
        guard !token.isEmpty, token.utf8.count <= 256 else { throw refused }
        guard let found = try await self.accounts.validate(tokenHash: Self.tokenHash(token), now: self.now(), logger: logger()),
            anyTenant || found.session.tenantSlug == tenantSlug
        else { throw refused }
        return found
    }

    /// Ends the session of `token`; false when it was not live.
    public func revokeSession(token: String, logger: Logger) async throws -> Bool {
        guard !token.isEmpty, token.utf8.count <= 256 else { return false }
        let revoked = try await self.accounts.revoke(tokenHash: Self.tokenHash(token), now: self.now(), logger: logger)
        if revoked { logger.info("session revoked") }
        return revoked
    }

    // MARK: RPCs

    public func startLogin(_ request: IdentityV1.StartLoginRequest, context: ServerContext) async throws -> IdentityV1.StartLoginResponse {
        let started = try await self.startSignIn(
            tenantSlug: request.tenantSlug, returnTo: request.returnTo, loginHint: request.loginHint, logger: context.logger
        )
        return IdentityV1.StartLoginResponse(authorizeURL: started.authorizeURL, state: started.state, expiresAtMicros: started.expiresAt)
    }

    public func completeLogin(_ request: IdentityV1.CompleteLoginRequest, context: ServerContext) async throws -> IdentityV1.CompleteLoginResponse {
        let completed = try await self.completeSignIn(
            Callback(
                tenantSlug: request.tenantSlug, state: request.state, code: request.code, error: request.error,
                errorDescription: request.errorDescription
            ),
            logger: context.logger
        )
        return IdentityV1.CompleteLoginResponse(
            user: completed.user.wire, created: completed.created, sessionToken: completed.sessionToken,
            session: completed.session.wire, returnTo: completed.returnTo
        )
    }

    public func validateSession(_ request: IdentityV1.ValidateSessionRequest, context: ServerContext) async throws -> IdentityV1.ValidateSessionResponse {
        let (user, session) = try await self.validateSession(
            token: request.sessionToken, tenantSlug: request.tenantSlug, anyTenant: request.anyTenant, logger: context.logger
        )
        return IdentityV1.ValidateSessionResponse(user: user.wire, session: session.wire)
    }

    public func revokeSession(_ request: IdentityV1.RevokeSessionRequest, context: ServerContext) async throws -> IdentityV1.RevokeSessionResponse {
        if !request.sessionID.isEmpty {
            guard context.role == .admin else {
                throw IdentityError(.permissionDenied, "revoking a session by id needs the admin token; the service role revokes by token")
            }
            guard request.sessionID.utf8.count <= 64 else { throw IdentityError.invalid("session_id", "is not a session id") }
            return IdentityV1.RevokeSessionResponse(
                revoked: try await self.accounts.revoke(id: request.sessionID, now: self.now(), logger: context.logger)
            )
        }
        guard !request.sessionToken.isEmpty else { throw IdentityError.invalid("session_token", "say session_token or session_id") }
        return IdentityV1.RevokeSessionResponse(revoked: try await self.revokeSession(token: request.sessionToken, logger: context.logger))
    }

    public func revokeUserSessions(_ request: IdentityV1.RevokeUserSessionsRequest, context: ServerContext) async throws -> IdentityV1.RevokeUserSessionsResponse {
        guard !request.userID.isEmpty, request.userID.utf8.count <= 64 else { throw IdentityError.invalid("user_id", "is not a user id") }
        let count = try await self.accounts.revokeAll(userID: request.userID, now: self.now(), logger: context.logger)
        context.logger.info("user's sessions revoked", metadata: ["user": "\(request.userID)", "count": "\(count)"])
        return IdentityV1.RevokeUserSessionsResponse(revoked: UInt32(count))
    }

    public func listUsers(_ request: IdentityV1.ListUsersRequest, context: ServerContext) async throws -> IdentityV1.ListUsersResponse {
        guard request.tenantSlug.utf8.count <= 63 else { throw IdentityError.invalid("tenant_slug", "is longer than a slug can be") }
        guard request.pageSize <= 500 else { throw IdentityError.invalid("page_size", "must be at most 500") }
        let limit = request.pageSize == 0 ? 100 : Int(request.pageSize)
        let associated = Array("milestone.identity.v1 users page \(request.tenantSlug)".utf8)
        var after = ""
        if !request.pageToken.isEmpty {
            guard let bytes = Base64URL.decode(request.pageToken), let sealed = SecretBox.Sealed(combined: bytes),
                let opened = try? self.secretBox.open(sealed, associatedData: associated)
            else { throw IdentityError.invalid("page_token", "was not issued by this service for this tenant's users") }
            after = String(decoding: opened, as: UTF8.self)
        }
        let (users, more) = try await self.accounts.users(tenantSlug: request.tenantSlug, afterID: after, limit: limit)
        var next = ""
        if more, let last = users.last {
            next = Base64URL.encode(try self.secretBox.seal(Array(last.id.utf8), associatedData: associated).combined)
        }
        return IdentityV1.ListUsersResponse(users: users.map(\.wire), nextPageToken: next)
    }

    public func getUser(_ request: IdentityV1.GetUserRequest, context: ServerContext) async throws -> IdentityV1.User {
        guard !request.userID.isEmpty, request.userID.utf8.count <= 64 else { throw IdentityError.invalid("user_id", "is not a user id") }
        guard let user = try await self.accounts.user(id: request.userID) else {
            throw IdentityError(.notFound, "no user has id \(request.userID)")
        }
        return user.wire
    }

    // MARK: Helpers

    static func tokenHash(_ token: String) -> [UInt8] {
        Crypto.sha256(Array(token.utf8))
    }

    static func notConfigured(_ tenantSlug: String) -> SignInError {
        SignInError(
            .notConfigured,
            tenantSlug.isEmpty
                ? "Single sign-on is not configured for this site."
                : "Your organization has not configured single sign-on for tenant \(tenantSlug).",
            fix: "Ask your administrator to configure Microsoft Entra ID sign-in (milestone sso set)."
        )
    }

    /// The discovery document of `settings`' identity provider, refused when it names another issuer than
    /// the configured one: its signing keys and endpoints are then not the configured provider's to trust.
    private func providerMetadata(
        _ settings: SSOSettings,
        now: Int64,
        logger: Logger
    ) async throws(SignInError) -> (metadata: ProviderMetadata, discovered: DiscoveredIssuer) {
        let authority = self.configuration.entraAuthority
        let metadata = try await self.providers.metadata(at: Self.discoveryURL(settings, authority: authority), now: now)
        let discovered = DiscoveredIssuer(
            metadata.issuer, provider: settings.provider, issuerURL: settings.issuerURL, directoryTenantID: settings.directoryTenantID, authority: authority
        )
        if case .refused(let problem, _) = discovered {
            logger.warning("sign-in refused: the discovery document names another issuer", metadata: ["problem": "\(problem)"])
            throw SignInError(
                .providerUnavailable, "The identity provider's discovery document \(problem).",
                fix: "An administrator should run Test Connection: the issuer URL (or directory tenant) must be exactly the identity provider's."
            )
        }
        return (metadata, discovered)
    }

    /// Where a configuration's discovery document is.
    static func discoveryURL(_ settings: SSOSettings, authority: String) -> String {
        switch settings.provider {
        case .entraID: "\(authority)/\(settings.directoryTenantID)/v2.0/.well-known/openid-configuration"
        case .oidc: (settings.issuerURL.hasSuffix("/") ? String(settings.issuerURL.dropLast()) : settings.issuerURL) + "/.well-known/openid-configuration"
        }
    }

    /// An error the identity provider sent to the callback (or the token endpoint), in words.
    static func providerError(_ error: String, _ description: String) -> SignInError {
        let error = String(error.prefix(64).filter { $0.isLetter || $0.isNumber || $0 == "_" })
        if let code = ConnectionTester.aadstsCode(in: description) {
            let (meaning, fix) = ConnectionTester.aadsts(code, description: String(description.prefix(300)))
            return SignInError(.providerError, "Microsoft refused the sign-in: \(meaning) (AADSTS\(code)).", fix: fix, providerCode: "AADSTS\(code)")
        }
        switch error {
        case "access_denied":
            return SignInError(.providerError, "The sign-in was cancelled or access was denied.", fix: "Try again, or ask your administrator for access to this application.", providerCode: error)
        case "consent_required", "interaction_required", "login_required":
            return SignInError(.providerError, "The identity provider needs you to sign in or consent first (\(error)).", fix: "Try again; an administrator may need to grant consent to the application.", providerCode: error)
        default:
            return SignInError(.providerError, "The identity provider refused the sign-in (\(error.isEmpty ? "no error code" : error)).", fix: "Try again; if it persists, an administrator should run Test Connection.", providerCode: error.isEmpty ? nil : error)
        }
    }

    /// Redeems the authorization code at the token endpoint; returns the ID token. The client authenticates
    /// with the secret in the form (`client_secret_post`: Entra, and providers that support only it) or in an
    /// HTTP Basic header (`client_secret_basic`: the OpenID Connect default, for generic providers that list it
    /// or list nothing).
    private func redeem(code: String, metadata: ProviderMetadata, settings: SSOSettings, secret: String, pending: PendingSignIn) async throws -> String {
        let basic = settings.provider == .oidc
            && (metadata.tokenEndpointAuthMethods.isEmpty || metadata.tokenEndpointAuthMethods.contains("client_secret_basic"))
        var form: [(String, String)] = [
            ("grant_type", "authorization_code"), ("client_id", settings.clientID),
            ("code", code), ("redirect_uri", pending.redirectURI), ("code_verifier", pending.codeVerifier),
        ]
        // Entra's v2 token endpoint takes the scope again; OAuth 2.0 defines none for this grant.
        if settings.provider == .entraID { form.append(("scope", "openid profile email")) }
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        if basic {
            // RFC 6749 §2.3.1: each part form-encoded, then base64 of "id:secret".
            let pair = HTTPClient.formComponent(settings.clientID) + ":" + HTTPClient.formComponent(secret)
            headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
        } else {
            form.insert(("client_secret", secret), at: 2)
        }
        let response: HTTPResponse
        do throws(HTTPFailure) {
            response = try await self.http.send(
                HTTPRequest(method: "POST", url: metadata.tokenEndpoint, headers: headers, body: Array(HTTPClient.formEncoded(form).utf8))
            )
        } catch {
            throw SignInError(
                .providerUnavailable, "The identity provider could not be reached to finish the sign-in (\(error.kind)).",
                fix: "Start signing in again in a moment."
            )
        }
        let body = JSONValue.object(response.body)
        guard response.status == 200 else {
            throw Self.providerError(body?["error"]?.stringValue ?? "", body?["error_description"]?.stringValue ?? "")
        }
        guard let idToken = body?["id_token"]?.stringValue else {
            throw SignInError(.invalidToken, "The identity provider's answer holds no ID token.", fix: "An administrator should check that the application requests the openid scope.")
        }
        return idToken
    }
}

extension IdentityService.CompletedSignIn: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "CompletedSignIn(user: \(self.user.id), created: \(self.created), session: \(self.session.id), sessionToken: <redacted>, returnTo: \(self.returnTo))"
    }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror {
        Mirror(self, children: ["user": self.user, "created": self.created, "session": self.session, "returnTo": self.returnTo])
    }
}

extension UserRecord {
    var wire: IdentityV1.User {
        IdentityV1.User(
            id: self.id, tenantSlug: self.tenantSlug, issuer: self.issuer, subject: self.subject, directoryTenantID: self.directoryTenantID,
            email: self.email, name: self.name, preferredUsername: self.preferredUsername, createdAtMicros: self.createdAt,
            updatedAtMicros: self.updatedAt, lastSignInAtMicros: self.lastSignInAt
        )
    }
}

extension SessionRecord {
    var wire: IdentityV1.Session {
        IdentityV1.Session(
            id: self.id, userID: self.userID, tenantSlug: self.tenantSlug, createdAtMicros: self.createdAt,
            expiresAtMicros: self.expiresAt, idleExpiresAtMicros: self.idleExpiresAt
        )
    }
}
