import Foundation
import HTTPTypes
public import Hummingbird
import HummingbirdCore
public import NIOCore
public import Logging
public import MilestoneIdentity
import MilestoneRPC

/// The identity service's HTTP edge, on Hummingbird, in the identity process (it calls the service in
/// process, not over RPC):
///
/// | | per tenant | the instance |
/// |---|---|---|
/// | login screen | `GET /t/{slug}/login` | `GET /login` |
/// | start (302 to the IdP) | `GET /t/{slug}/api/auth/login?return_to=…` | `GET /api/auth/login` |
/// | callback (cookie, 302 back) | `GET /t/{slug}/api/auth/callback` | `GET /api/auth/callback` |
/// | who am I (JSON, 401) | `GET /t/{slug}/api/auth/me` | `GET /api/auth/me` |
/// | sign out (same origin) | `POST /t/{slug}/api/auth/logout` | `POST /api/auth/logout` |
/// | home (where sign-ins land) | `GET /t/{slug}/` | `GET /` |
///
/// Failures are plain HTML pages that say what happened and what to do, with the right status code, and
/// never internals. Query strings (which carry codes and states) are never logged.
public struct IdentityHTTPEdge: Sendable {
    let service: IdentityService
    /// The public base URL's origin (`scheme://host[:port]`), for the logout's same-origin check.
    let origin: String
    let cookie: SessionCookie
    let logger: Logger
    /// At most 1,024 connections, 128 from one address (by default).
    let limits: ConnectionLimits

    public init(service: IdentityService, publicBaseURL: String, logger: Logger) {
        self.init(service: service, publicBaseURL: publicBaseURL, logger: logger, limits: ConnectionLimits())
    }

    init(service: IdentityService, publicBaseURL: String, logger: Logger, limits: ConnectionLimits) {
        self.limits = limits
        self.service = service
        (self.origin, self.cookie) = Self.site(publicBaseURL: publicBaseURL)
        self.logger = logger
    }

    /// For a site at `publicBaseURL`: its origin (`scheme://host[:port]`), and its cookies, Secure unless
    /// plain http on a loopback host.
    static func site(publicBaseURL: String) -> (origin: String, cookie: SessionCookie) {
        let url = URL(string: publicBaseURL)
        let scheme = url?.scheme?.lowercased() ?? "http"
        let host = url?.host?.lowercased() ?? "127.0.0.1"
        let loopback = host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
        return ("\(scheme)://\(host)" + (url?.port.map { ":\($0)" } ?? ""), SessionCookie(secure: !(scheme == "http" && loopback)))
    }

    /// The routes, for an `Application` (or a test's).
    public func router() -> Hummingbird.Router<BasicRequestContext> {
        let router = Hummingbird.Router(context: BasicRequestContext.self)
        router.add(middleware: EdgeHeadersMiddleware(logger: self.logger))
        for prefix in ["/t/:slug", ""] {
            router.get("\(prefix)/login") { request, context in try await self.loginScreen(request, context) }
            router.get("\(prefix)/api/auth/login") { request, context in try await self.startLogin(request, context) }
            router.get("\(prefix)/api/auth/callback") { request, context in try await self.callback(request, context) }
            router.get("\(prefix)/api/auth/me") { request, context in try await self.me(request, context) }
            router.post("\(prefix)/api/auth/logout") { request, context in try await self.logout(request, context) }
        }
        router.get("/t/:slug") { request, context in try await self.home(request, context) }
        router.get("/") { request, context in try await self.home(request, context) }
        return router
    }

    /// An application serving the edge on `host:port`, on `eventLoopGroup` (the RPC server's).
    public func application(
        host: String, port: Int, eventLoopGroup: any EventLoopGroup,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: self.router(),
            // Bounded: at most 1,024 connections (128 per address); idle ones close after 30 s; headers at most
            // 100 fields and 32 KiB (no route reads a body).
            server: .http1(configuration: HTTP1Channel.Configuration(
                additionalChannelHandlers: [self.limits.handler()],
                idleTimeout: .seconds(30),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100)
            )),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: self.logger
        )
    }

    // MARK: Routes

    private func loginScreen(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let slug = try self.slug(context)
        do {
            let screen = try await self.service.loginScreen(tenantSlug: slug, logger: self.logger)
            let reason = screen.notConfigured.map { ($0.message, $0.fix) }
            return Self.html(
                screen.notConfigured == nil ? .ok : .forbidden,
                Pages.login(
                    title: screen.title, organization: screen.organizationName,
                    signInURL: Self.path(slug, "/api/auth/login") + Self.returnToQuery(request), notConfigured: reason
                )
            )
        } catch {
            return self.errorPage(error, slug: slug)
        }
    }

    private func startLogin(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let slug = try self.slug(context)
        let query = request.uri.queryParameters
        do {
            let started = try await self.service.startSignIn(
                tenantSlug: slug, returnTo: query["return_to"].map(String.init) ?? "",
                loginHint: query["login_hint"].map(String.init) ?? "", logger: self.logger
            )
            var response = Self.redirect(started.authorizeURL)
            // Binds the sign-in to this browser: the callback must carry the same state as this cookie.
            let lifetime = (started.expiresAt - self.service.currentMicros) / 1_000_000
            response.headers.append(HTTPField(name: .setCookie, value: self.cookie.signIn.set(tenantSlug: slug, token: started.state, maxAge: lifetime)))
            return response
        } catch {
            return self.errorPage(error, slug: slug)
        }
    }

    private func callback(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let slug = try self.slug(context)
        let query = request.uri.queryParameters
        func value(_ name: String) -> String { query[name[...]].map(String.init) ?? "" }
        let clearSignIn = HTTPField(name: .setCookie, value: self.cookie.signIn.clear(tenantSlug: slug))
        // Login CSRF: a callback URL opened in another browser than the one that started the sign-in is
        // refused (and the sign-in stays pending for the browser that started it).
        let started = self.cookie.signIn.token(tenantSlug: slug, cookieHeader: request.headers[.cookie]) ?? ""
        guard !value("state").isEmpty, Array(started.utf8) == Array(value("state").utf8) else {
            self.logger.notice("sign-in refused: the callback came to another browser", metadata: ["tenant": "\(slug)"])
            var response = Self.html(.badRequest, Pages.error(
                title: "This sign-in cannot be completed",
                message: "This sign-in was started in another browser, or this browser did not keep its sign-in cookie.",
                fix: "Start signing in again from the login page, in this browser (and allow its cookies).",
                code: nil, retryURL: Self.path(slug, "/login")
            ))
            response.headers.append(clearSignIn)
            return response
        }
        do {
            let completed = try await self.service.completeSignIn(
                IdentityService.Callback(
                    tenantSlug: slug, state: value("state"), code: value("code"), error: value("error"),
                    errorDescription: value("error_description")
                ),
                logger: self.logger
            )
            var response = Self.redirect(completed.returnTo)
            let maxAge = (completed.session.expiresAt - self.service.currentMicros) / 1_000_000
            response.headers.append(HTTPField(name: .setCookie, value: self.cookie.set(tenantSlug: slug, token: completed.sessionToken, maxAge: maxAge)))
            response.headers.append(clearSignIn)
            return response
        } catch {
            var response = self.errorPage(error, slug: slug)
            response.headers.append(clearSignIn)
            return response
        }
    }

    private func me(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let slug = try self.slug(context)
        guard let token = self.cookie.token(tenantSlug: slug, cookieHeader: request.headers[.cookie]) else {
            return Self.json(.unauthorized, ["error": "not signed in: no session cookie", "login": Self.path(slug, "/login")])
        }
        do {
            let (user, session) = try await self.service.validateSession(token: token, tenantSlug: slug, logger: self.logger)
            return Self.json(.ok, MeBody(user: user, session: session))
        } catch let error as IdentityError where error.code == .unauthenticated {
            var response = Self.json(.unauthorized, ["error": "not signed in: \(error.message)", "login": Self.path(slug, "/login")])
            response.headers.append(HTTPField(name: .setCookie, value: self.cookie.clear(tenantSlug: slug)))
            return response
        } catch {
            return Self.json(Self.status(of: error), ["error": Self.publicMessage(error)])
        }
    }

    private func logout(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let slug = try self.slug(context)
        guard self.sameOrigin(request) else {
            return Self.html(.forbidden, Pages.error(
                title: "Sign-out refused", message: "The sign-out request did not come from this site.",
                fix: "Use the Sign out button of this site.", code: nil, retryURL: nil
            ))
        }
        if let token = self.cookie.token(tenantSlug: slug, cookieHeader: request.headers[.cookie]) {
            do {
                _ = try await self.service.revokeSession(token: token, logger: self.logger)
            } catch {
                return self.errorPage(error, slug: slug)
            }
        }
        var response = Response(status: .seeOther, headers: [.location: Self.path(slug, "/login"), .cacheControl: "no-store"])
        response.headers.append(HTTPField(name: .setCookie, value: self.cookie.clear(tenantSlug: slug)))
        return response
    }

    private func home(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let slug = try self.slug(context)
        var user: (String, String)?
        if let token = self.cookie.token(tenantSlug: slug, cookieHeader: request.headers[.cookie]),
            let found = try? await self.service.validateSession(token: token, tenantSlug: slug, logger: self.logger)
        {
            user = (found.user.name, found.user.email)
        }
        let title: String
        do {
            title = try await self.service.loginScreen(tenantSlug: slug, logger: self.logger).title
        } catch {
            return self.errorPage(error, slug: slug)
        }
        return Self.html(.ok, Pages.home(title: title, user: user, loginURL: Self.path(slug, "/login"), logoutURL: Self.path(slug, "/api/auth/logout")))
    }

    // MARK: Helpers

    /// The slug of the path (empty for the instance's routes), checked before anything is looked up.
    private func slug(_ context: BasicRequestContext) throws -> String {
        guard let slug = context.parameters.get("slug") else { return "" }
        guard (1...63).contains(slug.utf8.count), slug.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            throw HTTPError(.notFound, message: "no tenant has this address")
        }
        return slug
    }

    /// POSTs must come from this site: `Origin` equal to the public base URL's, or (without one)
    /// `Sec-Fetch-Site: same-origin`.
    private func sameOrigin(_ request: Request) -> Bool {
        if let origin = request.headers[.origin] { return origin.lowercased() == self.origin }
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] { return site == "same-origin" }
        return false
    }

    static func path(_ slug: String, _ suffix: String) -> String {
        slug.isEmpty ? suffix : "/t/\(slug)\(suffix)"
    }

    private static func returnToQuery(_ request: Request) -> String {
        guard let returnTo = request.uri.queryParameters["return_to"], !returnTo.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return "?return_to=" + (String(returnTo).addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
    }

    private func errorPage(_ error: any Error, slug: String) -> Response {
        let retry = Self.path(slug, "/login")
        switch error {
        case let error as SignInError:
            let (status, title): (HTTPResponse.Status, String) = switch error.reason {
            case .notConfigured: (.forbidden, "Single sign-on is not configured")
            case .unknownState, .tenantMismatch, .invalidRequest: (.badRequest, "This sign-in cannot be completed")
            case .expired: (.gone, "This sign-in has expired")
            case .configurationChanged: (.conflict, "Single sign-on changed")
            case .providerError: (.forbidden, "Microsoft did not sign you in")
            case .invalidToken: (.forbidden, "The sign-in could not be verified")
            case .providerUnavailable: (.badGateway, "The identity provider cannot be reached")
            }
            self.logger.notice("sign-in failed", metadata: ["tenant": "\(slug)", "reason": "\(error.reason)", "provider-code": "\(error.providerCode ?? "")"])
            return Self.html(status, Pages.error(title: title, message: error.message, fix: error.fix, code: error.providerCode, retryURL: retry))
        case let error as IdentityError where error.code == .notFound:
            return Self.html(.notFound, Pages.error(
                title: "No such tenant", message: "There is no Milestone tenant at this address.",
                fix: "Check the address you were given.", code: nil, retryURL: nil
            ))
        case let error as IdentityError where error.code == .invalidArgument:
            return Self.html(.badRequest, Pages.error(title: "Bad request", message: error.message, fix: "Start again from the login page.", code: nil, retryURL: retry))
        default:
            self.logger.error("sign-in failed", metadata: ["tenant": "\(slug)", "error": "\(error)"])
            return Self.html(Self.status(of: error), Pages.error(
                title: "Sign-in is unavailable", message: Self.publicMessage(error),
                fix: "Try again in a moment; if it persists, tell your administrator.", code: nil, retryURL: retry
            ))
        }
    }

    private static func status(of error: any Error) -> HTTPResponse.Status {
        guard let error = error as? IdentityError else { return .internalServerError }
        return switch error.code {
        case .unavailable: .serviceUnavailable
        case .notFound: .notFound
        case .invalidArgument: .badRequest
        case .unauthenticated: .unauthorized
        default: .internalServerError
        }
    }

    private static func publicMessage(_ error: any Error) -> String {
        guard let error = error as? IdentityError, error.code == .unavailable else { return "Something went wrong on our side." }
        return "A service sign-in depends on is not answering right now."
    }

    static func html(_ status: HTTPResponse.Status, _ page: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: page))
        )
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }
}

/// `/api/auth/me`'s answer.
struct MeBody: Encodable {
    struct User: Encodable {
        var id, tenantSlug, email, name, preferredUsername, issuer, subject: String
    }

    struct Session: Encodable {
        var id: String
        var expiresAt, idleExpiresAt: String
    }

    var user: User
    var session: Session

    init(user: UserRecord, session: SessionRecord) {
        self.user = User(
            id: user.id, tenantSlug: user.tenantSlug, email: user.email, name: user.name,
            preferredUsername: user.preferredUsername, issuer: user.issuer, subject: user.subject
        )
        let format = ISO8601DateFormatter()
        func date(_ micros: Int64) -> String { format.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000)) }
        self.session = Session(id: session.id, expiresAt: date(session.expiresAt), idleExpiresAt: date(session.idleExpiresAt))
    }

    enum CodingKeys: String, CodingKey {
        case user, session
    }
}

/// Headers every edge response carries (no framing, no sniffing, no referrer carrying codes to other sites
/// (same-origin: with no-referrer, browsers would send `Origin: null` on the logout POST), a
/// strict content policy: the pages need no script), and one log line per request without its query.
struct EdgeHeadersMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            response = IdentityHTTPEdge.html(error.status, Pages.error(
                title: error.status == .notFound ? "Not found" : "Request refused",
                message: error.status == .notFound ? "There is nothing at this address." : "The request could not be handled.",
                fix: "Check the address.", code: nil, retryURL: nil
            ))
        }
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        self.logger.info("http", metadata: ["method": "\(request.method)", "path": "\(request.uri.path.prefix(200))", "status": "\(response.status.code)"])
        return response
    }
}
