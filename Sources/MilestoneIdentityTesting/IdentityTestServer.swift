import Foundation
public import Logging
public import MilestoneCrypto
import MilestoneDirectory
public import MilestoneDirectoryTesting
public import MilestoneIdentity
public import MilestoneRPC
import MilestoneRPCNIO
public import MilestoneTesting
public import MilestoneWire

/// A directory service and an identity service on 127.0.0.1 port 0, with in-memory databases, wired together
/// as in production (the identity service calls the directory over RPC with the service token).
public struct IdentityTestServer: Sendable {
    /// The directory service underneath, with its admin client.
    public let directory: DirectoryTestServer
    /// The identity server, with an admin client.
    public let test: TestServer
    /// A typed client of the identity service with the admin token.
    public let client: IdentityV1.Identity.Client
    public let adminToken: String
    public let serviceToken: String
    /// The database, to look at what is stored (sealed secrets).
    public let database: IdentityDatabase
    /// The service itself, for an HTTP edge in the same process.
    public let service: IdentityService

    /// Runs `body` with a typed client using `token` (the service token, or a wrong one).
    public func withClient<Result: Sendable>(
        token: String?,
        _ body: (IdentityV1.Identity.Client) async throws -> Result
    ) async throws -> Result {
        try await self.test.withClient(configuration: RPCClientConfiguration(token: token, retry: .none)) { rpc in
            try await body(IdentityV1.Identity.Client(rpc))
        }
    }
}

/// Starts a directory service and an identity service (port 0, in-memory databases, a random master key
/// unless `secretBox`), runs `body`, then shuts both down gracefully.
///
/// - Parameters:
///   - configuration: the identity service's settings (public base URL, SSO_* environment, cache lifetime).
///   - database: the identity database (default: a new in-memory one).
public func withIdentityTestServer<Result: Sendable>(
    configuration: IdentityConfiguration = IdentityConfiguration(directoryCacheLifetime: .zero),
    database: IdentityDatabase? = nil,
    secretBox: SecretBox? = nil,
    now: (@Sendable () -> Int64)? = nil,
    logger: Logger = Logger(label: "milestone.test"),
    _ body: (IdentityTestServer) async throws -> Result
) async throws -> Result {
    let database = try database ?? IdentityDatabase.inMemory()
    let box = try secretBox ?? SecretBox(key: Crypto.randomBytes(32))
    return try await withDirectoryTestServer(logger: logger) { directory in
        try await directory.test.withClient(configuration: RPCClientConfiguration(token: directory.serviceToken)) { directoryRPC in
            let service = IdentityService(
                database: database,
                secretBox: box,
                directory: RPCTenantDirectory(
                    client: DirectoryV1.Directory.Client(directoryRPC),
                    endpoint: "\(directory.endpoint)",
                    cacheLifetime: configuration.directoryCacheLifetime
                ),
                configuration: configuration,
                now: now ?? { Int64(Date().timeIntervalSince1970 * 1_000_000) }
            )
            let adminToken = "test-admin-\(UInt64.random(in: .min ... .max))"
            let serviceToken = "test-service-\(UInt64.random(in: .min ... .max))"
            return try await withTestServer(
                services: [service],
                configuration: RPCServerConfiguration(authentication: .bearerTokens(BearerTokens(admin: adminToken, service: serviceToken))),
                clientConfiguration: RPCClientConfiguration(token: adminToken, retry: .none),
                logger: logger
            ) { test in
                try await body(
                    IdentityTestServer(
                        directory: directory, test: test, client: IdentityV1.Identity.Client(test.client),
                        adminToken: adminToken, serviceToken: serviceToken, database: database, service: service
                    )
                )
            }
        }
    }
}
