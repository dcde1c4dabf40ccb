import Logging
import MilestoneEchoService
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneWire
package import NIOCore
import NIOPosix

/// The workload of the RPC benchmark: our echo service over a full call (envelope, bearer token,
/// interceptors) and the bare NIO echo, each a server and a client in this process. The servers'
/// connections run on one event loop and the clients' on another, the same for both, so that each side of a
/// comparison always runs on the same threads.
package struct EchoWorkload: Sendable {
    private let client: RPCClient
    private let bareChannel: any Channel
    /// The clients' event loop (callers may run on it).
    package let clientLoop: any EventLoop

    /// A full RPC echo call with `payload` bytes.
    package func rpcCall(payload: Int) -> @Sendable () async throws -> Void {
        let request = TestingV1.EchoRequest(payload: Array(repeating: 0x5A, count: payload))
        let client = self.client
        return { _ = try await client.unary(TestingV1.Echo.echo, request) }
    }

    /// A bare echo of `payload` bytes.
    package func bareCall(payload: Int) -> @Sendable () async throws -> Void {
        let request = ByteBuffer(bytes: Array(repeating: 0x5A, count: payload))
        let channel = self.bareChannel
        return { _ = try await BareEcho.call(channel, request) }
    }

    /// Starts both servers and clients, runs `body`, and stops them.
    package static func run<Result: Sendable>(_ body: (EchoWorkload) async throws -> Result) async throws -> Result {
        let logger = Logger(label: "milestone.bench") { _ in SwiftLogNoOpLogHandler() }
        let serverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let token = "bench-token-\(UInt64.random(in: .min ... .max))"
        let server = RPCServer(
            configuration: RPCServerConfiguration(authentication: .bearerTokens(BearerTokens(admin: nil, service: token))),
            services: [EchoService(access: .adminOrService)],
            eventLoopGroup: serverLoop,
            logger: logger
        )
        let bare = try await BareEcho.startServer(group: serverLoop)
        let barePort = bare.localAddress!.port!
        let result = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.run() }
            let client: RPCClient
            do {
                let endpoint = try await server.listeningEndpoint
                client = RPCClient(endpoint: endpoint, configuration: RPCClientConfiguration(token: token), eventLoopGroup: clientLoop, logger: logger)
            } catch {
                server.beginGracefulShutdown()
                throw error
            }
            tasks.addTask { try await client.run() }
            let result: Result
            do {
                let bareChannel = try await BareEcho.connect(to: barePort, group: clientLoop)
                result = try await body(EchoWorkload(client: client, bareChannel: bareChannel, clientLoop: clientLoop.next()))
                try await bareChannel.close()
            } catch {
                client.beginGracefulShutdown()
                server.beginGracefulShutdown()
                throw error
            }
            client.beginGracefulShutdown()
            server.beginGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
        try await bare.close()
        try await serverLoop.shutdownGracefully()
        try await clientLoop.shutdownGracefully()
        return result
    }
}
