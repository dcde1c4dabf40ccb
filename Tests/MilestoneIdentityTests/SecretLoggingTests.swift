import Logging
import MilestoneDirectoryTesting
import MilestoneEntraEmulator
import MilestoneIdentity
import MilestoneIdentityTesting
import MilestoneRPC
import MilestoneWire
import Synchronization
import Testing

/// Keeps every log line (message and metadata) at every level.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    static let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        Self.lines.withLock { $0.append("\(event.level) \(event.message) \(merged)") }
    }
}

@Suite("Secrets never reach the logs", .timeLimit(.minutes(1)))
struct SecretLoggingTests {
    @Test("setting, reading, listing, explaining and testing a configuration logs no secret, at trace level")
    func noSecretsInLogs() async throws {
        let secret = "log-canary-secret-7f3a9"
        let emulator = try EntraEmulator(tenants: [.init(id: tenantGUID, applications: [.init(clientID: appID, secret: secret)])])
        try await emulator.start()
        let logger = Logger(label: "milestone.test") { _ in CapturingLogHandler() }
        try await withIdentityTestServer(
            configuration: IdentityConfiguration(entraAuthority: emulator.authority, directoryCacheLifetime: .zero),
            logger: logger
        ) { server throws in
            let acme = try await server.directory.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            _ = try await server.directory.client.createTenant(.init(slug: "acme-eu", displayName: "EU", organizationID: acme.id))
            let scope = IdentityV1.Scope(kind: .organizationID(acme.id))
            _ = try await server.client.setSSOConfiguration(
                .init(scope: scope, provider: .entraID, clientID: appID, directoryTenantID: tenantGUID, clientSecret: secret)
            )
            _ = try await server.client.getSSOConfiguration(.init(scope: scope))
            _ = try await server.client.listSSOConfigurations()
            _ = try await server.client.getEffectiveConfiguration(.init(tenantSlug: "acme-eu"))
            #expect(try await server.client.testConnection(.init(scope: scope)).ok)
            // A failing call whose request held a secret.
            _ = try? await server.client.setSSOConfiguration(
                .init(scope: scope, provider: .entraID, clientID: "bad", directoryTenantID: tenantGUID, clientSecret: secret)
            )
        }
        try await emulator.stop()
        let lines = CapturingLogHandler.lines.withLock { $0 }
        #expect(lines.count > 5, "the calls were logged")
        #expect(!lines.contains { $0.contains(secret) }, "a log line holds the secret")
    }
}

@Suite("Values holding secrets print redacted", .timeLimit(.minutes(1)))
struct RedactionTests {
    @Test("a settings change and the SSO_* environment never print their secret")
    func redaction() throws {
        let change = SSOSettingsChange(provider: .entraID, clientID: appID, directoryTenantID: tenantGUID, clientSecret: "print-canary-secret")
        let environment = try #require(try InstanceEnvironment.read([
            "SSO_CLIENT_ID": appID, "SSO_CLIENT_SECRET": "print-canary-secret", "SSO_TENANT_ID": tenantGUID,
        ]))
        for text in ["\(change)", String(reflecting: change), "\(environment)", String(reflecting: environment), "\(Mirror(reflecting: change).children.map(\.value))"] {
            #expect(!text.contains("print-canary-secret"), "\(text)")
        }
    }
}
