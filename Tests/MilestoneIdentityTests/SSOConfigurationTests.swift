import Foundation
import GRDB
import Logging
import MilestoneClient
@testable import MilestoneIdentity
import MilestoneCrypto
import MilestoneDirectoryTesting
import MilestoneIdentityTesting
import MilestoneRPC
import MilestoneTesting
import MilestoneWire
import Synchronization
import Testing

let clientID = "11111111-2222-3333-4444-555555555555"
let directoryTenantID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
let secretValue = "Zx8~Q-very-secret-value-1234"

func entraRequest(
    _ scope: IdentityV1.Scope, secret: String = secretValue, disabled: Bool = false, expires: String = ""
) -> IdentityV1.SetSSOConfigurationRequest {
    IdentityV1.SetSSOConfigurationRequest(
        scope: scope, provider: .entraID, clientID: clientID, directoryTenantID: directoryTenantID,
        clientSecret: secret, disabled: disabled, secretExpiresOn: expires
    )
}

extension IdentityV1.Scope {
    static func organization(_ id: String) -> IdentityV1.Scope { .init(kind: .organizationID(id)) }
    static var instance: IdentityV1.Scope { .init(kind: .instance(true)) }
}

@Suite("SSO configurations: inheritance, validation, sealed secrets", .timeLimit(.minutes(2)))
struct SSOConfigurationTests {
    @Test("the inheritance matrix: organization's enabled configuration, else the instance's, else none")
    func inheritance() async throws {
        try await withIdentityTestServer { server throws in
            let directory = server.directory.client
            let acme = try await directory.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            let globex = try await directory.createOrganization(.init(name: "Globex", adminEmail: "a@globex.example"))
            _ = try await directory.createTenant(.init(slug: "acme-eu", displayName: "Acme EU", organizationID: acme.id))
            _ = try await directory.createTenant(.init(slug: "globex-us", displayName: "Globex US", organizationID: globex.id))
            _ = try await directory.createTenant(.init(slug: "solo", displayName: "Solo"))
            let identity = server.client

            // Nothing configured: none, with the tenant named.
            var effective = try await identity.getEffectiveConfiguration(.init(tenantSlug: "acme-eu"))
            #expect(effective.source == .none)
            #expect(effective.configuration == nil)
            #expect(effective.explanation.contains("acme-eu"))
            #expect(effective.redirectURI == "http://127.0.0.1:7480/t/acme-eu/api/auth/callback")

            // The instance's applies to everyone without their own.
            _ = try await identity.setSSOConfiguration(entraRequest(.instance))
            for slug in ["acme-eu", "globex-us", "solo"] {
                #expect(try await identity.getEffectiveConfiguration(.init(tenantSlug: slug)).source == .instanceSettings, "\(slug)")
            }
            // An organization's enabled configuration wins for its tenants only.
            _ = try await identity.setSSOConfiguration(entraRequest(.organization(acme.id)))
            effective = try await identity.getEffectiveConfiguration(.init(tenantSlug: "acme-eu"))
            #expect(effective.source == .organization && effective.organizationName == "Acme")
            #expect(try await identity.getEffectiveConfiguration(.init(tenantSlug: "globex-us")).source == .instanceSettings)
            // Disabled: the organization's is skipped, and the explanation says so.
            _ = try await identity.setSSOConfiguration(entraRequest(.organization(globex.id), disabled: true))
            effective = try await identity.getEffectiveConfiguration(.init(tenantSlug: "globex-us"))
            #expect(effective.source == .instanceSettings)
            #expect(effective.explanation.contains("disabled"))
            // A tenant moved to another organization picks up the new configuration (cache lifetime zero here).
            _ = try await directory.addTenant(.init(organizationID: acme.id, tenantID: try await directory.tenantID(for: "globex-us"), moveFromOtherOrganization: true))
            #expect(try await identity.getEffectiveConfiguration(.init(tenantSlug: "globex-us")).source == .organization)
            // No instance configuration: none again for those without their own.
            _ = try await identity.deleteSSOConfiguration(.init(scope: .instance))
            effective = try await identity.getEffectiveConfiguration(.init(tenantSlug: "solo"))
            #expect(effective.source == .none)
            #expect(effective.explanation.contains("not configured for tenant solo"))
            #expect(await statusCode { try await identity.getEffectiveConfiguration(.init(tenantSlug: "nope")) } == .notFound)
            // The instance itself.
            #expect(try await identity.getEffectiveConfiguration(.init()).redirectURI == "http://127.0.0.1:7480/api/auth/callback")
        }
    }

    @Test("the SSO_* environment defines the instance: it wins, is the source, and RPC changes are refused")
    func environmentWins() async throws {
        let environment = try #require(try InstanceEnvironment.read([
            "SSO_ENABLED": "true", "SSO_CLIENT_ID": clientID, "SSO_CLIENT_SECRET": "env-secret-value-99",
            "SSO_TENANT_ID": "contoso.onmicrosoft.com", "SSO_REDIRECT_URI": "https://milestone.example/api/auth/callback",
        ]))
        let configuration = IdentityConfiguration(
            publicBaseURL: "https://milestone.example", instanceEnvironment: environment, directoryCacheLifetime: .zero
        )
        try await withIdentityTestServer(configuration: configuration) { server throws in
            _ = try await server.directory.client.createTenant(.init(slug: "solo", displayName: "Solo"))
            let effective = try await server.client.getEffectiveConfiguration(.init(tenantSlug: "solo"))
            #expect(effective.source == .instanceEnvironment)
            #expect(effective.configuration?.directoryTenantID == "contoso.onmicrosoft.com")
            #expect(effective.redirectURI == "https://milestone.example/t/solo/api/auth/callback")
            #expect(try await server.client.getEffectiveConfiguration(.init()).redirectURI == "https://milestone.example/api/auth/callback")
            for call in [
                { _ = try await server.client.setSSOConfiguration(entraRequest(.instance)) },
                { _ = try await server.client.deleteSSOConfiguration(.init(scope: .instance)) },
            ] as [() async throws -> Void] {
                do {
                    try await call()
                    Issue.record("expected FAILED_PRECONDITION")
                } catch let error as RPCError {
                    #expect(error.code == .failedPrecondition)
                    #expect(error.message.contains("SSO_CLIENT_ID"))
                }
            }
            let listed = try await server.client.listSSOConfigurations()
            #expect(listed.configurations.first?.source == .instanceEnvironment)
            #expect(!"\(listed)".contains("env-secret-value-99"))
        }
        #expect(throws: IdentityError.self) { try InstanceEnvironment.read(["SSO_CLIENT_ID": clientID]) }
        #expect(try InstanceEnvironment.read([:]) == nil)
    }

    @Test("bad input gets INVALID_ARGUMENT naming the field; an unknown organization NOT_FOUND")
    func validation() async throws {
        try await withIdentityTestServer { server throws in
            let acme = try await server.directory.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            let scope = IdentityV1.Scope.organization(acme.id)
            var bad: [(IdentityV1.SetSSOConfigurationRequest, RPCError.Code, String)] = []
            var request = entraRequest(scope)
            request.clientID = "my-app"
            bad.append((request, .invalidArgument, "client_id"))
            request = entraRequest(scope)
            request.directoryTenantID = "not a tenant"
            bad.append((request, .invalidArgument, "directory_tenant_id"))
            bad.append((entraRequest(scope, secret: ""), .invalidArgument, "client_secret"))
            bad.append((entraRequest(scope, expires: "2026-13-40"), .invalidArgument, "secret_expires_on"))
            bad.append((entraRequest(.organization("org_doesnotexist00000000")), .notFound, "org_doesnotexist"))
            bad.append((entraRequest(IdentityV1.Scope()), .invalidArgument, "scope"))
            var oidc = IdentityV1.SetSSOConfigurationRequest(scope: scope, provider: .oidc, clientID: "app", issuerURL: "http://idp.example", clientSecret: "s")
            bad.append((oidc, .invalidArgument, "https"))
            oidc.issuerURL = "ftp://idp.example"
            bad.append((oidc, .invalidArgument, "issuer_url"))
            for (index, (request, code, fragment)) in bad.enumerated() {
                do {
                    _ = try await server.client.setSSOConfiguration(request)
                    Issue.record("case \(index): expected \(code)")
                } catch let error as RPCError {
                    #expect(error.code == code, "case \(index)")
                    #expect(error.message.contains(fragment), "case \(index): \(error.message)")
                }
            }
            oidc.issuerURL = "http://127.0.0.1:9999/realm"
            #expect(try await server.client.setSSOConfiguration(oidc).issuerURL == "http://127.0.0.1:9999/realm", "http for loopback")
            let domain = entraRequest(scope)
            var byDomain = domain
            byDomain.directoryTenantID = "Contoso.onmicrosoft.com"
            #expect(try await server.client.setSSOConfiguration(byDomain).directoryTenantID == "contoso.onmicrosoft.com")
        }
    }

    @Test("secrets are write-only: hint, date and days left only; never in responses, nor in the database's bytes")
    func writeOnlySecrets() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("identity.sqlite").path
        let database = try IdentityDatabase.open(path: path)
        try await withIdentityTestServer(database: database) { server throws in
            let acme = try await server.directory.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            let set = try await server.client.setSSOConfiguration(entraRequest(.organization(acme.id), expires: "2099-01-31"))
            #expect(set.secret?.hint == "…1234")
            #expect(set.secret?.expiresOn == "2099-01-31")
            #expect((set.secret?.daysLeft ?? 0) > 0)
            let got = try await server.client.getSSOConfiguration(.init(scope: .organization(acme.id)))
            let listed = try await server.client.listSSOConfigurations()
            for text in ["\(set)", "\(got)", "\(listed)", String(describing: try got.wireBytes())] {
                #expect(!text.contains(secretValue))
            }
        }
        // The file and its WAL hold only the sealed form.
        for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data(secretValue.utf8)) == nil, "\(file) holds the secret in the clear")
        }
    }

    @Test("a wrong master key, and a ciphertext moved to another row, do not open")
    func wrongKeyAndMovedCiphertext() async throws {
        let database = try IdentityDatabase.inMemory()
        let box = try SecretBox(key: Crypto.randomBytes(32))
        let store = SSOConfigurationStore(database: database, box: box)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let change = SSOSettingsChange(provider: .entraID, clientID: clientID, directoryTenantID: directoryTenantID, clientSecret: secretValue)
        _ = try await store.set(.organization("org_a"), change, logger: logger)
        _ = try await store.set(.organization("org_b"), SSOSettingsChange(provider: .entraID, clientID: clientID, directoryTenantID: directoryTenantID, clientSecret: "other-secret-value"), logger: logger)
        #expect(try await store.clientSecret(.organization("org_a")) == secretValue)

        let wrong = SSOConfigurationStore(database: database, box: try SecretBox(key: Crypto.randomBytes(32)))
        await #expect(throws: IdentityError.self) { try await wrong.clientSecret(.organization("org_a")) }
        #expect(try await wrong.sealedWithOtherKeys().count == 2, "the start-up check names both")

        // Copy org_a's sealed secret into org_b's row: it must not open there.
        try await database.writer.write { db in
            try db.execute(sql: "UPDATE sso_configuration SET secret = (SELECT secret FROM sso_configuration WHERE scope = 'org:org_a') WHERE scope = 'org:org_b'")
        }
        do {
            _ = try await store.clientSecret(.organization("org_b"))
            Issue.record("a moved ciphertext opened")
        } catch let error as IdentityError {
            #expect(error.code == .failedPrecondition)
            #expect(!error.message.contains(secretValue))
        }
    }

    @Test("the master key: from the environment (base64 of 32 bytes) or a 0600 key file created once")
    func masterKey() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (first, source) = try MasterKey.load(environmentValue: nil, dataDirectory: folder.path)
        #expect(source.hasSuffix("secret.key"))
        let file = folder.appendingPathComponent("secret.key").path
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
        #expect(try MasterKey.load(environmentValue: nil, dataDirectory: folder.path).box.keyID == first.keyID, "never replaced")
        #expect(throws: IdentityError.self) { try MasterKey.load(environmentValue: "c2hvcnQ=", dataDirectory: folder.path) }
        let key = Data(repeating: 9, count: 32).base64EncodedString()
        #expect(try MasterKey.load(environmentValue: key, dataDirectory: folder.path).source == "MILESTONE_SECRET_KEY")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        #expect(throws: IdentityError.self) { try MasterKey.load(environmentValue: nil, dataDirectory: folder.path) }
    }

    @Test("effective configurations accept the service token; configuring needs admin")
    func roles() async throws {
        try await withIdentityTestServer { server throws in
            _ = try await server.directory.client.createTenant(.init(slug: "solo", displayName: "Solo"))
            try await server.withClient(token: server.serviceToken) { service throws in
                #expect(try await service.getEffectiveConfiguration(.init(tenantSlug: "solo")).source == .none)
                #expect(await statusCode { try await service.setSSOConfiguration(entraRequest(.instance)) } == .permissionDenied)
                #expect(await statusCode { try await service.listSSOConfigurations() } == .permissionDenied)
            }
        }
    }
}

@Suite("The directory cache's staleness bound", .timeLimit(.minutes(1)))
struct DirectoryCacheTests {
    @Test("a moved tenant is seen in its new organization once the cache lifetime has passed, not before")
    func stalenessBound() async throws {
        try await withDirectoryTestServer { server throws in
            let acme = try await server.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            let globex = try await server.client.createOrganization(.init(name: "Globex", adminEmail: "a@globex.example"))
            let tenant = try await server.client.createTenant(.init(slug: "mover", displayName: "Mover", organizationID: acme.id))
            let now = Mutex(ContinuousClock.now)
            try await server.withClient(token: server.serviceToken) { client throws in
                let directory = RPCTenantDirectory(
                    client: client, endpoint: "\(server.endpoint)", cacheLifetime: .seconds(10), clock: { now.withLock { $0 } }
                )
                #expect(try await directory.resolve(slug: "mover").organizationName == "Acme")
                _ = try await server.client.addTenant(.init(organizationID: globex.id, tenantID: tenant.id, moveFromOtherOrganization: true))
                now.withLock { $0 += .seconds(9) }
                #expect(try await directory.resolve(slug: "mover").organizationName == "Acme", "within the bound: cached")
                now.withLock { $0 += .seconds(1) }
                #expect(try await directory.resolve(slug: "mover").organizationName == "Globex", "at the bound: asked again")
            }
        }
    }
}

@Suite("The warm tenant map", .timeLimit(.minutes(1)))
struct TenantMapTests {
    @Test("a listing answers lookups until the lifetime passes; a refresh picks up moves; new tenants fall back")
    func tenantMap() async throws {
        try await withDirectoryTestServer { server throws in
            let acme = try await server.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"))
            let globex = try await server.client.createOrganization(.init(name: "Globex", adminEmail: "a@globex.example"))
            let mover = try await server.client.createTenant(.init(slug: "mover", displayName: "Mover", organizationID: acme.id))
            _ = try await server.client.createTenant(.init(slug: "loner", displayName: "Loner"))
            let now = Mutex(ContinuousClock.now)
            let map = TenantMap(lifetime: .seconds(10), clock: { now.withLock { $0 } })
            try await server.withClient(token: server.serviceToken) { client throws in
                try await map.refresh(from: client)
                #expect(map.count == 2)
                #expect(map.lookup("mover")?.organizationName == "Acme")
                #expect(map.lookup("loner") == ResolvedTenant(slug: "loner", organizationID: nil, organizationName: nil))
                #expect(map.lookup("newcomer") == nil, "a tenant created since the listing is asked for one by one")

                _ = try await server.client.addTenant(.init(organizationID: globex.id, tenantID: mover.id, moveFromOtherOrganization: true))
                #expect(map.lookup("mover")?.organizationName == "Acme", "until the next listing")
                try await map.refresh(from: client)
                #expect(map.lookup("mover")?.organizationName == "Globex")

                now.withLock { $0 += .seconds(10) }
                #expect(map.lookup("mover") == nil, "a listing older than the lifetime is not trusted")
            }
        }
    }
}
