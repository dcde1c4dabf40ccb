public import Logging
public import MilestoneRPC
public import MilestoneRPCNIO

/// A server running on 127.0.0.1 with a free port, and a client connected to it, for tests.
public struct TestServer: Sendable {
    public let server: RPCServer
    public let endpoint: Endpoint
    public let client: RPCClient

    /// Runs `body` with a further client of the same server (for example with another token).
    public func withClient<Result: Sendable>(
        configuration: RPCClientConfiguration,
        logger: Logger = Logger(label: "milestone.test"),
        _ body: (RPCClient) async throws -> Result
    ) async throws -> Result {
        try await withRPCClient(self.endpoint, configuration: configuration, logger: logger, body)
    }
}

/// Starts `services` on 127.0.0.1 port 0 (unless `configuration` names a port), runs `body` with the
/// server and a connected client, then shuts both down gracefully, also when `body` throws.
///
/// - Parameters:
///   - configuration: the server's settings, authentication included.
///   - clientConfiguration: the client's settings (its token, timeouts).
public func withTestServer<Result: Sendable>(
    services: [any RegistrableRPCService],
    configuration: RPCServerConfiguration,
    clientConfiguration: RPCClientConfiguration = RPCClientConfiguration(),
    logger: Logger = Logger(label: "milestone.test"),
    _ body: (TestServer) async throws -> Result
) async throws -> Result {
    let server = RPCServer(configuration: configuration, services: services, logger: logger)
    return try await withTestServer(server, clientConfiguration: clientConfiguration, logger: logger, body)
}

/// Runs `server` (built by hand, for example from a ``Router``), then as
/// ``withTestServer(services:configuration:clientConfiguration:logger:_:)``.
public func withTestServer<Result: Sendable>(
    _ server: RPCServer,
    clientConfiguration: RPCClientConfiguration = RPCClientConfiguration(),
    logger: Logger = Logger(label: "milestone.test"),
    _ body: (TestServer) async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { server.beginGracefulShutdown() }
        let endpoint = try await server.listeningEndpoint
        let client = RPCClient(endpoint: endpoint, configuration: clientConfiguration, logger: logger)
        group.addTask { try await client.run() }
        defer { client.beginGracefulShutdown() }
        return try await body(TestServer(server: server, endpoint: endpoint, client: client))
    }
}
