public import Logging
public import MilestoneClient
public import MilestoneDirectory
public import MilestoneRPC
public import MilestoneRPCNIO

/// A directory service on 127.0.0.1 port 0 with a fresh in-memory database, and clients for it.
public struct DirectoryTestServer: Sendable {
    /// The server underneath, with its endpoint and an admin client.
    public let test: TestServer
    /// A typed client with the admin token.
    public let client: DirectoryClient
    /// The tokens the server accepts.
    public let adminToken: String
    public let serviceToken: String

    public var endpoint: Endpoint { self.test.endpoint }

    /// Runs `body` with a typed client using `token` (for example the service token, or a wrong one).
    public func withClient<Result: Sendable>(
        token: String?,
        _ body: (DirectoryClient) async throws -> Result
    ) async throws -> Result {
        try await self.test.withClient(configuration: RPCClientConfiguration(token: token, retry: .none)) { rpc in
            try await body(DirectoryClient(rpc))
        }
    }
}

/// Starts a directory service on port 0 with a temporary in-memory database (or `database`), runs `body`
/// with a connected admin client, then shuts everything down gracefully.
public func withDirectoryTestServer<Result: Sendable>(
    database: DirectoryDatabase? = nil,
    logger: Logger = Logger(label: "milestone.test"),
    _ body: (DirectoryTestServer) async throws -> Result
) async throws -> Result {
    let database = try database ?? DirectoryDatabase.inMemory()
    var router = Router()
    DirectoryService(database: database).register(in: &router)
    let adminToken = "test-admin-\(UInt64.random(in: .min ... .max))"
    let serviceToken = "test-service-\(UInt64.random(in: .min ... .max))"
    return try await withTestServer(
        router: router,
        health: HealthService(services: [DirectoryService.serviceName]),
        configuration: RPCServerConfiguration(tokens: BearerTokens(admin: adminToken, service: serviceToken)),
        clientConfiguration: RPCClientConfiguration(token: adminToken, retry: .none),
        logger: logger
    ) { test in
        try await body(
            DirectoryTestServer(test: test, client: DirectoryClient(test.client), adminToken: adminToken, serviceToken: serviceToken)
        )
    }
}
