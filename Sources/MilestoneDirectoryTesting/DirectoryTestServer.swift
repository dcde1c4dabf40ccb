public import Logging
public import MilestoneDirectory
public import MilestoneRPC
import MilestoneRPCNIO
public import MilestoneTesting
public import MilestoneWire

/// A directory service on 127.0.0.1 port 0 with a fresh in-memory database, and clients for it.
public struct DirectoryTestServer: Sendable {
    /// The server underneath, with its endpoint and an admin client.
    public let test: TestServer
    /// A typed client with the admin token.
    public let client: DirectoryV1.Directory.Client
    /// The tokens the server accepts.
    public let adminToken: String
    public let serviceToken: String

    public var endpoint: Endpoint { self.test.endpoint }

    /// Runs `body` with a typed client using `token` (for example the service token, or a wrong one).
    public func withClient<Result: Sendable>(
        token: String?,
        _ body: (DirectoryV1.Directory.Client) async throws -> Result
    ) async throws -> Result {
        try await self.test.withClient(configuration: RPCClientConfiguration(token: token, retry: .none)) { rpc in
            try await body(DirectoryV1.Directory.Client(rpc))
        }
    }
}

/// Starts a directory service on port 0 with a temporary in-memory database (or `database`), runs `body`
/// with a connected admin client, then shuts everything down gracefully.
///
/// - Parameter interceptors: run around every call (after authentication), to observe or alter calls.
public func withDirectoryTestServer<Result: Sendable>(
    database: DirectoryDatabase? = nil,
    interceptors: [any ServerInterceptor] = [],
    logger: Logger = Logger(label: "milestone.test"),
    _ body: (DirectoryTestServer) async throws -> Result
) async throws -> Result {
    let database = try database ?? DirectoryDatabase.inMemory()
    let adminToken = "test-admin-\(UInt64.random(in: .min ... .max))"
    let serviceToken = "test-service-\(UInt64.random(in: .min ... .max))"
    let server = RPCServer(
        configuration: RPCServerConfiguration(authentication: .bearerTokens(BearerTokens(admin: adminToken, service: serviceToken))),
        services: [DirectoryService(database: database)],
        interceptors: interceptors,
        logger: logger
    )
    return try await withTestServer(
        server,
        clientConfiguration: RPCClientConfiguration(token: adminToken, retry: .none),
        logger: logger
    ) { test in
        try await body(
            DirectoryTestServer(
                test: test, client: DirectoryV1.Directory.Client(test.client), adminToken: adminToken, serviceToken: serviceToken
            )
        )
    }
}
