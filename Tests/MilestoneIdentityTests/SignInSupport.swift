import Foundation
import Logging
import MilestoneCrypto
import MilestoneDirectoryTesting
import MilestoneEntraEmulator
import MilestoneHTTPClient
@testable import MilestoneIdentity
import GRDB
import MilestoneIdentityTesting
import MilestoneRPC
import MilestoneWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tests' clock: real time at start, moved only by the test.
final class TestClock: Sendable {
    private let micros = Mutex<Int64>(Int64(Date().timeIntervalSince1970 * 1_000_000))

    var now: @Sendable () -> Int64 { { self.micros.withLock { $0 } } }

    func advance(_ duration: Duration) {
        self.micros.withLock { $0 += duration.microseconds }
    }
}

enum People {
    static let ada = EntraEmulator.User(objectID: "a0a0a0a0-0000-4000-8000-000000000001", email: "ada@contoso.example", name: "Ada Lovelace")
    static let alan = EntraEmulator.User(objectID: "a0a0a0a0-0000-4000-8000-000000000002", email: "alan@contoso.example", name: "Alan Turing")
    /// Another person claiming Ada's email address (an unverified email must never link them to Ada).
    static let mallory = EntraEmulator.User(objectID: "a0a0a0a0-0000-4000-8000-000000000003", email: "ada@contoso.example", name: "Mallory")
}

/// An identity service (with its directory) configured against a started Entra emulator: organization
/// Acme with tenants acme-eu and acme-us, its SSO configuration on the emulator's application.
struct SignInFixture: Sendable {
    let server: IdentityTestServer
    let emulator: EntraEmulator
    let clock: TestClock
    let publicBaseURL: String
    let http = HTTPClient()

    var client: IdentityV1.Identity.Client { self.server.client }

    func start(_ slug: String = "acme-eu", returnTo: String = "") async throws -> IdentityV1.StartLoginResponse {
        try await self.client.startLogin(.init(tenantSlug: slug, returnTo: returnTo))
    }

    /// Picks `account` at the emulator for the authorize URL (the picker's form post); returns the callback URL.
    func pick(_ authorizeURL: String, account: String = People.ada.email) async throws -> URLComponents {
        let url = try #require(URLComponents(string: authorizeURL))
        let form = (url.queryItems ?? []).map { ($0.name, $0.value ?? "") } + [("account", account)]
        var endpoint = url
        endpoint.query = nil
        let response = try await self.http.send(HTTPRequest(
            method: "POST", url: endpoint.string!, headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(HTTPClient.formEncoded(form).utf8), followsRedirects: false
        ))
        #expect(response.status == 302, "the emulator answered \(response.status): \(response.text)")
        let location = try #require(response.location)
        return try #require(URLComponents(string: location))
    }

    /// The whole flow over RPC: StartLogin, the emulator's picker, CompleteLogin.
    func signIn(_ slug: String = "acme-eu", account: String = People.ada.email) async throws -> IdentityV1.CompleteLoginResponse {
        let started = try await self.start(slug)
        let callback = try await self.pick(started.authorizeURL, account: account)
        return try await self.complete(callback, slug: slug)
    }

    func complete(_ callback: URLComponents, slug: String = "acme-eu") async throws -> IdentityV1.CompleteLoginResponse {
        func value(_ name: String) -> String { callback.queryItems?.first { $0.name == name }?.value ?? "" }
        return try await self.client.completeLogin(
            .init(state: value("state"), code: value("code"), error: value("error"), errorDescription: value("error_description"), tenantSlug: slug)
        )
    }

    /// A second organization, Globex, with its tenant `globex`, signing in through a generic OpenID Connect
    /// provider at `issuerURL`.
    func globexWithOIDC(issuerURL: String) async throws {
        let globex = try await self.server.directory.client.createOrganization(.init(name: "Globex", adminEmail: "a@globex.example"))
        _ = try await self.server.directory.client.createTenant(.init(slug: "globex", displayName: "Globex", organizationID: globex.id))
        _ = try await self.client.setSSOConfiguration(
            .init(scope: .init(kind: .organizationID(globex.id)), provider: .oidc, clientID: appID, issuerURL: issuerURL, clientSecret: appSecret)
        )
    }

    func users(_ slug: String = "acme-eu") async throws -> [IdentityV1.User] {
        try await self.client.listUsers(.init(tenantSlug: slug)).users
    }

    func sessionCount() async throws -> Int {
        try await self.server.database.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM session") ?? 0 }
    }
}

/// Runs `body` with a ``SignInFixture``; `publicBaseURL` decides the redirect URIs (an HTTP edge's address).
func withSignIn<Result: Sendable>(
    publicBaseURL: String = "http://127.0.0.1:7480",
    logger: Logger = Logger(label: "milestone.test") { _ in SwiftLogNoOpLogHandler() },
    sessions: SessionPolicy = SessionPolicy(),
    _ body: (SignInFixture) async throws -> Result
) async throws -> Result {
    let emulator = try EntraEmulator(tenants: [
        .init(
            id: tenantGUID, domains: ["contoso.onmicrosoft.com"],
            applications: [.init(clientID: appID, secret: appSecret)],
            users: [People.ada, People.alan, People.mallory]
        ),
    ])
    try await emulator.start()
    let clock = TestClock()
    let result: Result
    do {
        let configuration = IdentityConfiguration(
            publicBaseURL: publicBaseURL, entraAuthority: emulator.authority, directoryCacheLifetime: .zero, sessions: sessions
        )
        result = try await withIdentityTestServer(configuration: configuration, now: clock.now, logger: logger) { server throws in
            let acme = try await server.directory.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            _ = try await server.directory.client.createTenant(.init(slug: "acme-eu", displayName: "Acme Europe", organizationID: acme.id))
            _ = try await server.directory.client.createTenant(.init(slug: "acme-us", displayName: "Acme US", organizationID: acme.id))
            _ = try await server.client.setSSOConfiguration(
                .init(scope: .organization(acme.id), provider: .entraID, clientID: appID, directoryTenantID: tenantGUID, clientSecret: appSecret)
            )
            return try await body(SignInFixture(server: server, emulator: emulator, clock: clock, publicBaseURL: publicBaseURL))
        }
    } catch {
        try? await emulator.stop()
        throw error
    }
    try await emulator.stop()
    return result
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for an HTTP edge whose address the service must know
/// before it starts: its redirect URIs).
func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The RPC status of a failed call.
func rpcError(_ body: () async throws -> some Sendable) async -> RPCError? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(code: .unknown, message: "\(error)")
    }
}
