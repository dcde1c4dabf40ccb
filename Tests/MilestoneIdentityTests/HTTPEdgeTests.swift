import Foundation
import Hummingbird
import MilestoneDirectoryTesting
import Logging
import MilestoneCrypto
import MilestoneEntraEmulator
import MilestoneHTTPClient
import MilestoneIdentity
@testable import MilestoneIdentityHTTP
import MilestoneIdentityTesting
import MilestoneRPC
import MilestoneTesting
import MilestoneWire
import NIOPosix
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

typealias ClientRequest = MilestoneHTTPClient.HTTPRequest
typealias ClientResponse = MilestoneHTTPClient.HTTPResponse

/// A browser's cookie jar, enough for one site: name → value, as Set-Cookie headers say.
final class CookieJar: Sendable {
    private let cookies = Mutex<[String: String]>([:])

    func take(_ response: ClientResponse) {
        for header in response.headerValues("Set-Cookie") {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = String(pair[0])
            let maxAgeZero = header.contains("Max-Age=0")
            self.cookies.withLock { $0[name] = maxAgeZero ? nil : String(pair[1]) }
        }
    }

    var header: String { self.cookies.withLock { $0.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") } }
    var names: [String] { self.cookies.withLock { Array($0.keys) } }
}

/// The HTTP edge on a free loopback port in front of a sign-in fixture, and a browser-like client.
struct EdgeFixture: Sendable {
    let signIn: SignInFixture
    let base: String
    let jar = CookieJar()

    /// GET (or POST) without following redirects, with the jar's cookies; takes the response's cookies.
    func request(_ pathOrURL: String, method: String = "GET", headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> ClientResponse {
        let url = pathOrURL.hasPrefix("http") ? pathOrURL : self.base + pathOrURL
        var all = headers
        if !self.jar.header.isEmpty { all.append(("Cookie", self.jar.header)) }
        let response = try await self.signIn.http.send(ClientRequest(method: method, url: url, headers: all, body: body, followsRedirects: false))
        self.jar.take(response)
        return response
    }

    /// The whole flow as a browser: login link → IdP → picker → callback; returns the callback's response.
    func browserSignIn(_ slug: String = "acme-eu", returnTo: String? = nil, account: String = People.ada.email) async throws -> ClientResponse {
        let query = returnTo.map { "?return_to=" + HTTPClient.formComponent($0) } ?? ""
        let start = try await self.request("/t/\(slug)/api/auth/login\(query)")
        #expect(start.status == 302)
        let authorize = try #require(start.location)
        let callback = try await self.signIn.pick(authorize, account: account)
        return try await self.request(try #require(callback.string))
    }
}

func withEdge(
    logger: Logger = Logger(label: "milestone.test") { _ in SwiftLogNoOpLogHandler() },
    limits: ConnectionLimits = ConnectionLimits(),
    _ body: (EdgeFixture) async throws -> Void
) async throws {
    // The service must know the edge's address before it starts (its redirect URIs), so a port is picked
    // first; if another socket took it meanwhile, the edge cannot listen and another one is tried.
    for attempt in 1...5 {
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let started = try await withSignIn(publicBaseURL: base, logger: logger) { fixture throws -> Bool in
            let edge = IdentityHTTPEdge(service: fixture.server.service, publicBaseURL: base, logger: logger, limits: limits)
            let outcome = EdgeStart()
            let app = edge.application(host: "127.0.0.1", port: port, eventLoopGroup: MultiThreadedEventLoopGroup.singleton) { _ in
                outcome.settle(listening: true)
            }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await app.runService(gracefulShutdownSignals: [])
                    } catch {
                        outcome.settle(listening: false)
                        throw error
                    }
                    outcome.settle(listening: false)
                }
                guard await outcome.wait() else {
                    group.cancelAll()
                    _ = try? await group.next()
                    return false
                }
                do {
                    try await body(EdgeFixture(signIn: fixture, base: base))
                } catch {
                    group.cancelAll()
                    throw error
                }
                group.cancelAll()
                return true
            }
        }
        if started { return }
        if attempt == 5 { throw POSIXError(.EADDRINUSE) }
    }
}

/// Whether the edge started listening, or ended (failed to bind) first; awaited once.
final class EdgeStart: Sendable {
    private let state = Mutex<(result: Bool?, waiter: CheckedContinuation<Bool, Never>?)>((nil, nil))

    func settle(listening: Bool) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard state.result == nil else { return nil }
            state.result = listening
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: listening)
    }

    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state -> Bool? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

@Suite("The session cookie's attributes", .timeLimit(.minutes(1)))
struct SessionCookieTests {
    @Test("Secure with the __Host- prefix behind https; not Secure only for plain-http loopback")
    func secureUnlessLoopback() {
        #expect(SessionCookie(secure: true).set(tenantSlug: "acme-eu", token: "t", maxAge: 60)
            == "__Host-milestone_session_acme-eu=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure")
        #expect(SessionCookie(secure: false).set(tenantSlug: "", token: "t", maxAge: 60) == "milestone_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax")
        let cases: [(String, Bool)] = [
            ("https://milestone.example", true), ("http://127.0.0.1:7480", false), ("http://localhost:7480", false),
            ("http://[::1]:7480", false), ("https://127.0.0.1", true),
        ]
        for (url, secure) in cases {
            #expect(IdentityHTTPEdge.site(publicBaseURL: url).cookie.secure == secure, "\(url)")
        }
        #expect(SessionCookie(secure: false).token(tenantSlug: "acme-eu", cookieHeader: "a=b; milestone_session_acme-eu=tok; c=d") == "tok")
        #expect(SessionCookie(secure: false).token(tenantSlug: "acme-eu", cookieHeader: "milestone_session_acme-us=tok") == nil)
    }
}

@Suite("The HTTP edge: login screen, callback, cookie, me, logout, error pages", .timeLimit(.minutes(2)))
struct HTTPEdgeTests {
    /// The `state` of the authorize URL a login redirect points at.
    static func state(_ response: ClientResponse) throws -> String {
        let location = try #require(response.location)
        let url = try #require(URLComponents(string: location))
        return try #require(url.queryItems?.first { $0.name == "state" }?.value)
    }

    @Test("signing in as a browser sets a private session cookie and lands on the return path; /me shows the user; logout ends it")
    func browserFlow() async throws {
        try await withEdge { edge throws in
            let login = try await edge.request("/t/acme-eu/login")
            #expect(login.status == 200)
            #expect(login.text.contains("Acme Europe"))
            #expect(login.text.contains("Sign in with Microsoft"))
            #expect(login.text.contains("href=\"/t/acme-eu/api/auth/login\""))
            #expect(login.header("Content-Security-Policy")?.contains("default-src 'none'") == true)

            #expect(try await edge.request("/t/acme-eu/api/auth/me").status == 401)
            let callback = try await edge.browserSignIn(returnTo: "/t/acme-eu/projects?tab=open")
            #expect(callback.status == 302)
            #expect(callback.header("Location") == "/t/acme-eu/projects?tab=open")
            let cookie = try #require(callback.headerValues("Set-Cookie").first { $0.hasPrefix("milestone_session_") })
            #expect(cookie.hasPrefix("milestone_session_acme-eu="))
            #expect(callback.headerValues("Set-Cookie").contains { $0.hasPrefix("milestone_signin_acme-eu=;") && $0.contains("Max-Age=0") })
            for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
                #expect(cookie.contains(attribute), "\(cookie)")
            }
            #expect(!cookie.contains("Secure"), "plain-http loopback: not Secure")

            let me = try await edge.request("/t/acme-eu/api/auth/me")
            #expect(me.status == 200)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(me.body)) as? [String: Any])
            let user = try #require(body["user"] as? [String: Any])
            #expect(user["email"] as? String == People.ada.email)
            #expect(user["tenant_slug"] as? String == "acme-eu")
            // The session is acme-eu's, not acme-us's.
            #expect(try await edge.request("/t/acme-us/api/auth/me").status == 401)
            let home = try await edge.request("/t/acme-eu/")
            #expect(home.text.contains("Signed in as"))

            // Logout needs this site's Origin.
            let forged = try await edge.request("/t/acme-eu/api/auth/logout", method: "POST", headers: [("Origin", "https://evil.example")])
            #expect(forged.status == 403)
            let noOrigin = try await edge.request("/t/acme-eu/api/auth/logout", method: "POST")
            #expect(noOrigin.status == 403)
            #expect(try await edge.request("/t/acme-eu/api/auth/me").status == 200)
            let logout = try await edge.request("/t/acme-eu/api/auth/logout", method: "POST", headers: [("Origin", edge.base)])
            #expect(logout.status == 303)
            #expect(logout.header("Location") == "/t/acme-eu/login")
            #expect(logout.header("Set-Cookie")?.contains("Max-Age=0") == true)
            #expect(edge.jar.names.isEmpty)
            #expect(try await edge.signIn.sessionCount() == 1)
        }
    }

    @Test("open redirects through return_to are refused before anyone is sent to the identity provider", arguments: [
        "//evil.com", "https://evil.com", "/\\evil.com", "%2F%2Fevil.com",
    ])
    func openRedirect(returnTo: String) async throws {
        try await withEdge { edge throws in
            let encoded = HTTPClient.formEncoded([("return_to", returnTo)])
            let response = try await edge.request("/t/acme-eu/api/auth/login?\(encoded)")
            #expect(response.status == 400)
            #expect(response.location == nil)
            #expect(response.text.contains("not a path on this site"))
        }
    }

    @Test("one address cannot hold every connection: past its limit a connection is closed at once; others are served")
    func connectionLimit() async throws {
        let limits = ConnectionLimits(total: 1024, perPeer: 2)
        try await withEdge(limits: limits) { edge throws in
            let port = Int32(URLComponents(string: edge.base)?.port ?? 0)
            func connect() -> Int32 {
                let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.sin_port = UInt16(port).bigEndian
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                return descriptor
            }
            // Three connections from one address: whichever the server sees third (they are accepted on two
            // event loops, so not necessarily the third made) is closed at once.
            let sockets = [connect(), connect(), connect()]
            var polled = sockets.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            #expect(poll(&polled, nfds_t(polled.count), 10_000) == 1, "exactly one connection is closed")
            let closed = polled.filter { $0.revents != 0 }.map(\.fd)
            var byte: UInt8 = 0
            #expect(closed.count == 1 && recv(closed[0], &byte, 1, 0) == 0)
            let held = sockets.filter { !closed.contains($0) }
            for descriptor in closed { close(descriptor) }
            close(held[0])
            // A slot is free again (the close is counted when the server sees it): a request is served.
            var served = false
            for _ in 0..<50 where !served {
                served = (try? await edge.request("/t/acme-eu/login").status) == 200
            }
            #expect(served)
            close(held[1])
        }
    }

    @Test("a callback URL opened in another browser is refused (login CSRF); the browser that started it still completes")
    func callbackBoundToBrowser() async throws {
        try await withEdge { edge throws in
            let start = try await edge.request("/t/acme-eu/api/auth/login")
            let signIn = try #require(start.headerValues("Set-Cookie").first { $0.hasPrefix("milestone_signin_acme-eu=") })
            for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"] {
                #expect(signIn.contains(attribute), "\(signIn)")
            }
            let callback = try await edge.signIn.pick(try #require(start.location))
            let url = try #require(callback.string)
            // The victim's browser: no sign-in cookie.
            let victim = try await edge.signIn.http.send(ClientRequest(url: url, followsRedirects: false))
            #expect(victim.status == 400)
            #expect(victim.text.contains("started in another browser"))
            #expect(victim.headerValues("Set-Cookie").allSatisfy { !$0.hasPrefix("milestone_session_") })
            #expect(try await edge.signIn.sessionCount() == 0)
            // The browser that started it.
            let own = try await edge.request(url)
            #expect(own.status == 302)
            #expect(try await edge.signIn.sessionCount() == 1)
        }
    }

    @Test("failures are plain pages with the right status that say what to do, without internals")
    func errorPages() async throws {
        try await withEdge { edge throws in
            // The person cancels at the identity provider.
            let start = try await edge.request("/t/acme-eu/api/auth/login")
            let state = try Self.state(start)
            let cancelled = try await edge.request(
                "/t/acme-eu/api/auth/callback?" + HTTPClient.formEncoded([
                    ("state", state), ("error", "access_denied"), ("error_description", "AADSTS65004: User declined to consent to access the app."),
                ])
            )
            #expect(cancelled.status == 403)
            #expect(cancelled.text.contains("declined to consent"))
            #expect(cancelled.text.contains("AADSTS65004"))
            // A replayed or made-up state.
            let unknown = try await edge.request("/t/acme-eu/api/auth/callback?state=made-up&code=x")
            #expect(unknown.status == 400)
            #expect(unknown.text.contains("Start signing in again"))
            // Markup in what the IdP (or an attacker crafting the link) sends is escaped.
            let start2 = try await edge.request("/t/acme-eu/api/auth/login")
            let state2 = try Self.state(start2)
            let hostile = try await edge.request(
                "/t/acme-eu/api/auth/callback?" + HTTPClient.formEncoded([("state", state2), ("error", "<script>x</script>"), ("error_description", "<img src=x onerror=alert(1)>")])
            )
            #expect(!hostile.text.contains("<script>x"))
            #expect(!hostile.text.contains("<img"))
            // No configuration, an unknown tenant, a malformed slug.
            _ = try await edge.signIn.server.directory.client.createTenant(.init(slug: "solo", displayName: "Solo"))
            let solo = try await edge.request("/t/solo/login")
            #expect(solo.status == 403)
            #expect(solo.text.contains("has not configured single sign-on"))
            #expect(try await edge.request("/t/solo/api/auth/login").status == 403)
            #expect(try await edge.request("/t/nobody-here/login").status == 404)
            #expect(try await edge.request("/t/BAD%00slug/login").status == 404)
            for page in [cancelled, unknown, solo] {
                #expect(!page.text.contains("IdentityError"))
                #expect(!page.text.contains("FAILED_PRECONDITION"))
            }
        }
    }

    @Test("a whole sign-in through the edge logs neither the session token, nor the code, nor the client secret")
    func noSecretsInLogs() async throws {
        let logger = Logger(label: "milestone.test") { _ in CapturingLogHandler() }
        try await withEdge(logger: logger) { edge throws in
            let callback = try await edge.browserSignIn()
            #expect(callback.status == 302)
            let token = try #require(edge.jar.header.split(separator: "=", maxSplits: 1).last.map(String.init))
            #expect(try await edge.request("/t/acme-eu/api/auth/me").status == 200)
            _ = try await edge.request("/t/acme-eu/api/auth/logout", method: "POST", headers: [("Origin", edge.base)])
            let lines = CapturingLogHandler.lines.withLock { $0 }
            #expect(lines.contains { $0.contains("signed in") })
            #expect(!lines.contains { $0.contains(token) }, "a log line holds the session token")
            #expect(!lines.contains { $0.contains(appSecret) }, "a log line holds the client secret")
            #expect(!lines.contains { $0.contains("code=") }, "a log line holds a query string")
        }
    }
}
