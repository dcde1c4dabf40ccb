import Foundation
import MilestoneDirectoryTesting
import MilestoneEntraEmulator
import MilestoneHTTPClient
@testable import MilestoneIdentity
import MilestoneIdentityTesting
import MilestoneRPC
import MilestoneWire
import NIOCore
import NIOPosix
import Testing

let tenantGUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
let appID = "0b7e3e6c-2d2e-4c0a-9d1e-1f8f2a9b3c4d"
let appSecret = "app-secret-value~123"

@Suite("Test Connection against an Entra emulator, a refused port and a silent one", .timeLimit(.minutes(2)))
struct TestConnectionTests {
    func withEmulator(_ body: (EntraEmulator) async throws -> Void) async throws {
        let emulator = try EntraEmulator(tenants: [
            .init(id: tenantGUID, domains: ["contoso.onmicrosoft.com"], applications: [
                .init(clientID: appID, secret: appSecret),
                .init(clientID: "aaaaaaaa-0000-0000-0000-000000000001", secret: "old", secretExpired: true),
                .init(clientID: "aaaaaaaa-0000-0000-0000-000000000002", secret: "off", disabled: true),
            ]),
            .init(id: "bbbbbbbb-0000-0000-0000-000000000000", applications: [.init(clientID: appID, secret: appSecret)], emptyJWKS: true),
        ])
        try await emulator.start()
        do {
            try await body(emulator)
        } catch {
            try? await emulator.stop()
            throw error
        }
        try await emulator.stop()
    }

    func report(
        authority: String, clientID: String = appID, tenant: String = tenantGUID, secret: String = appSecret,
        expires: String = "", provider: IdentityV1.Provider = .entraID, issuer: String = "",
        httpTimeout: Duration = .seconds(30)
    ) async throws -> IdentityV1.TestConnectionReport {
        // Long enough by default that a stalled machine cannot turn the emulator's answers into timeouts;
        // the silent server's case sets a short one (the time-out is what it checks).
        let configuration = IdentityConfiguration(
            entraAuthority: authority, directoryCacheLifetime: .zero,
            http: HTTPClient.Configuration(connectTimeout: httpTimeout, totalTimeout: httpTimeout)
        )
        return try await withIdentityTestServer(configuration: configuration) { server throws in
            let acme = try await server.directory.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            for slug in ["acme-eu", "acme-us"] {
                _ = try await server.directory.client.createTenant(.init(slug: slug, displayName: slug, organizationID: acme.id))
            }
            _ = try await server.client.setSSOConfiguration(
                .init(
                    scope: .organization(acme.id), provider: provider, clientID: clientID, directoryTenantID: tenant,
                    issuerURL: issuer, clientSecret: secret, secretExpiresOn: expires
                )
            )
            return try await server.client.testConnection(.init(scope: .organization(acme.id)))
        }
    }

    func step(_ report: IdentityV1.TestConnectionReport, _ name: String) throws -> IdentityV1.TestStep {
        try #require(report.steps.first { $0.name == name }, "no step \(name)")
    }

    @Test("a working configuration: every step ok, and the redirect URIs of the organization's tenants")
    func working() async throws {
        try await self.withEmulator { emulator in
            let report = try await self.report(authority: emulator.authority, expires: "2099-01-01")
            #expect(report.ok)
            #expect(report.steps.map(\.name) == ["discovery", "signing keys", "client credentials", "redirect URIs", "secret expiry"])
            #expect(report.steps.allSatisfy { $0.outcome == .ok }, "\(report.steps)")
            #expect(report.redirectURIs == [
                "http://127.0.0.1:7480/t/acme-eu/api/auth/callback", "http://127.0.0.1:7480/t/acme-us/api/auth/callback",
            ])
            #expect(!"\(report)".contains(appSecret))
            // A verified domain names the tenant too.
            let byDomain = try await self.report(authority: emulator.authority, tenant: "contoso.onmicrosoft.com")
            #expect(try self.step(byDomain, "discovery").detail.contains("contoso.onmicrosoft.com is tenant \(tenantGUID)"))
        }
    }

    @Test("AADSTS errors become what to do", arguments: [
        ("unknown tenant", "cccccccc-0000-0000-0000-000000000000", appID, appSecret, "discovery", "AADSTS90002", "Directory (tenant) ID"),
        ("unknown application", tenantGUID, "dddddddd-0000-0000-0000-000000000000", appSecret, "client credentials", "AADSTS700016", "Application (client) ID"),
        ("wrong secret", tenantGUID, appID, "2f1c-secret-id-not-value", "client credentials", "AADSTS7000215", "Value"),
        ("expired secret", tenantGUID, "aaaaaaaa-0000-0000-0000-000000000001", "old", "client credentials", "AADSTS7000222", "new client secret"),
        ("disabled application", tenantGUID, "aaaaaaaa-0000-0000-0000-000000000002", "off", "client credentials", "AADSTS7000112", "Enterprise applications"),
    ])
    func aadsts(case name: String, tenant: String, clientID: String, secret: String, failing: String, code: String, fix: String) async throws {
        try await self.withEmulator { emulator in
            let report = try await self.report(authority: emulator.authority, clientID: clientID, tenant: tenant, secret: secret)
            #expect(!report.ok, "\(name)")
            let step = try self.step(report, failing)
            #expect(step.outcome == .failed, "\(name)")
            #expect(step.detail.hasPrefix(code), "\(name): \(step.detail)")
            #expect(step.fix.contains(fix), "\(name): \(step.fix)")
            #expect(!"\(report)".contains(secret) || secret.count < 4, "\(name): the secret is never echoed")
            if failing == "discovery" {
                #expect(try self.step(report, "client credentials").outcome == .skipped)
            }
        }
    }

    @Test("unusable signing keys, and secrets that expire soon or did")
    func keysAndExpiry() async throws {
        try await self.withEmulator { emulator in
            let noKeys = try await self.report(authority: emulator.authority, tenant: "bbbbbbbb-0000-0000-0000-000000000000")
            #expect(try self.step(noKeys, "signing keys").outcome == .failed)
            let today = Int(Date().timeIntervalSince1970 / 86_400)
            func date(_ day: Int) -> String {
                let formatter = DateFormatter()
                formatter.dateFormat = "yyyy-MM-dd"
                formatter.timeZone = TimeZone(identifier: "UTC")
                return formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86_400))
            }
            let soon = try await self.report(authority: emulator.authority, expires: date(today + 10))
            #expect(try self.step(soon, "secret expiry").outcome == .warning)
            #expect(soon.ok, "a warning is not a failure")
            let expired = try await self.report(authority: emulator.authority, expires: date(today - 1))
            #expect(try self.step(expired, "secret expiry").outcome == .failed)
            let none = try await self.report(authority: emulator.authority)
            #expect(try self.step(none, "secret expiry").outcome == .skipped)
        }
    }

    @Test("Entra's multi-tenant issuer template: ok for a configured GUID (tokens' tid is checked), failed for a domain")
    func issuerTemplate() async throws {
        try await self.withEmulator { emulator in
            emulator.serveIssuerTemplate(true)
            let guid = try await self.report(authority: emulator.authority)
            #expect(guid.ok, "\(guid.steps)")
            #expect(try self.step(guid, "discovery").detail.contains("multi-tenant template"))
            let domain = try await self.report(authority: emulator.authority, tenant: "contoso.onmicrosoft.com")
            #expect(!domain.ok)
            #expect(try self.step(domain, "discovery").outcome == .failed)
        }
    }

    @Test("generic OpenID Connect: its own discovery, keys and client credentials")
    func oidc() async throws {
        try await self.withEmulator { emulator in
            let report = try await self.report(
                authority: "https://login.microsoftonline.com", provider: .oidc, issuer: "\(emulator.authority)/\(tenantGUID)/v2.0"
            )
            #expect(report.ok, "\(report.steps)")
        }
    }

    @Test("nothing listens, or something listens and never answers: failed steps with a fix, not errors")
    func network() async throws {
        let refused = try await self.report(authority: "http://127.0.0.1:1")
        let discovery = try self.step(refused, "discovery")
        #expect(discovery.outcome == .failed)
        #expect(discovery.fix.contains("nothing accepts connections"))

        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        let hanging = try await self.report(authority: "http://127.0.0.1:\(port)", httpTimeout: .seconds(1))
        let timedOut = try self.step(hanging, "discovery")
        #expect(timedOut.outcome == .failed)
        #expect(timedOut.fix.contains("did not answer in time"), "\(timedOut)")
        try await silent.close()
    }
}
