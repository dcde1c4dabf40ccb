import Foundation
import Logging
import MilestoneCrypto
import MilestoneDirectory
import MilestoneIdentity
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneTesting
import MilestoneWire
import Testing

@Suite("The directory service down, and back", .timeLimit(.minutes(2)))
struct DirectoryOutageTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func directoryServer(_ database: DirectoryDatabase, endpoint: Endpoint, tokens: BearerTokens) -> RPCServer {
        RPCServer(
            configuration: RPCServerConfiguration(endpoint: endpoint, authentication: .bearerTokens(tokens)),
            services: [DirectoryService(database: database)],
            logger: self.logger
        )
    }

    @Test("a clear UNAVAILABLE within the caller's deadline, and recovery without a restart")
    func outage() async throws {
        let tokens = BearerTokens(admin: "admin-token", service: "service-token")
        let directoryDatabase = try DirectoryDatabase.inMemory()
        let first = self.directoryServer(directoryDatabase, endpoint: Endpoint(host: "127.0.0.1", port: 0), tokens: tokens)
        let firstRun = Task { try await first.run() }
        let endpoint = try await first.listeningEndpoint
        try await withRPCClient(endpoint, configuration: RPCClientConfiguration(token: "admin-token"), logger: self.logger) { admin in
            _ = try await DirectoryV1.Directory.Client(admin).createTenant(.init(slug: "solo", displayName: "Solo"))
        }
        try await withRPCClient(endpoint, configuration: RPCClientConfiguration(token: "service-token", retry: .none), logger: self.logger) { directoryRPC in
            let identity = IdentityService(
                database: try IdentityDatabase.inMemory(),
                secretBox: try SecretBox(key: Crypto.randomBytes(32)),
                directory: RPCTenantDirectory(client: DirectoryV1.Directory.Client(directoryRPC), endpoint: "\(endpoint)", cacheLifetime: .zero),
                configuration: IdentityConfiguration(directoryCacheLifetime: .zero)
            )
            try await withTestServer(
                services: [identity],
                configuration: RPCServerConfiguration(authentication: .bearerTokens(tokens)),
                clientConfiguration: RPCClientConfiguration(token: "service-token", retry: .none),
                logger: self.logger
            ) { test in
                let client = IdentityV1.Identity.Client(test.client)
                #expect(try await client.getEffectiveConfiguration(.init(tenantSlug: "solo")).source == .none)

                first.beginGracefulShutdown()
                try await firstRun.value
                do {
                    _ = try await client.getEffectiveConfiguration(.init(tenantSlug: "solo"), options: CallOptions(timeout: .seconds(5)))
                    Issue.record("expected UNAVAILABLE while the directory is down")
                } catch let error as RPCError {
                    #expect(error.code == .unavailable)
                    #expect(error.message.contains("directory service at \(endpoint)"))
                }

                // The directory comes back on the same port (same data): the identity service recovers by itself.
                let second = self.directoryServer(directoryDatabase, endpoint: endpoint, tokens: tokens)
                let secondRun = Task { try await second.run() }
                _ = try await second.listeningEndpoint
                var recovered = false
                for _ in 0..<100 where !recovered {  // the client reconnects after its backoff delay (about 1 s)
                    if (try? await client.getEffectiveConfiguration(.init(tenantSlug: "solo"))) != nil {
                        recovered = true
                    } else {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                #expect(recovered)
                second.beginGracefulShutdown()
                try await secondRun.value
            }
        }
    }
}
