import Glibc
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
    /// The kernel's ids of the servers' and the clients' event-loop threads, to tell their CPU time apart.
    package let serverLoopThread: Int32
    package let clientLoopThread: Int32

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
                let workload = EchoWorkload(
                    client: client,
                    bareChannel: bareChannel,
                    clientLoop: clientLoop.next(),
                    serverLoopThread: try await serverLoop.next().submit { currentThreadID() }.get(),
                    clientLoopThread: try await clientLoop.next().submit { currentThreadID() }.get()
                )
                result = try await body(workload)
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

/// The kernel's id of the calling thread (`/proc/thread-self` links to `PID/task/TID`), or 0.
private func currentThreadID() -> Int32 {
    var target = [CChar](repeating: 0, count: 64)
    let count = readlink("/proc/thread-self", &target, target.count - 1)
    guard count > 0 else { return 0 }
    let path = String(decoding: target[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return path.split(separator: "/").last.flatMap { Int32($0) } ?? 0
}
