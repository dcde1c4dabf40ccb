public import MilestoneRPC
public import MilestoneRPCNIO
public import MilestoneWire

/// Typed calls to the `milestone.health.v1.Health` service of any Milestone server.
public struct HealthClient: Sendable {
    public let rpc: RPCClient

    public init(_ rpc: RPCClient) {
        self.rpc = rpc
    }

    /// The serving status of `service` ("" for the server as a whole).
    ///
    /// - Throws: ``RPCError`` (NOT_FOUND for a service the server does not host).
    public func check(
        service: String = "",
        options: CallOptions = .default
    ) async throws -> HealthCheckResponse.ServingStatus {
        var request = HealthCheckRequest()
        request.service = service
        return try await self.rpc.unary(Health.check, request, options: options).status
    }
}
