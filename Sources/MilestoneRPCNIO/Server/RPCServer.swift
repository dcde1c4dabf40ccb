public import Logging
public import MilestoneRPC
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Serves a ``Router``'s methods over TCP: length-prefixed protobuf frames, many concurrent calls per
/// connection. Run it in a `ServiceGroup` (graceful shutdown on SIGTERM drains it) or call ``run()``.
public final class RPCServer: Service, Sendable {
    public let configuration: RPCServerConfiguration
    /// The server's health service, answering `milestone.health.v1.Health/Check`.
    public let health: HealthService

    let pipeline: ServerPipeline
    let logger: Logger
    private let group: any EventLoopGroup
    private let listening: EventLoopPromise<Endpoint>
    let shutdownRequested = OneShotEvent()
    private let listener = Mutex<(any Channel)?>(nil)
    let connectionCount = Mutex(0)

    /// - Parameters:
    ///   - router: the methods to serve; the health service's method is added.
    ///   - health: the health service (one reporting the server itself SERVING by default).
    ///   - interceptors: run after request logging and authentication, around every handler.
    public init(
        configuration: RPCServerConfiguration = RPCServerConfiguration(),
        router: Router,
        health: HealthService = HealthService(),
        interceptors: [any ServerInterceptor] = [],
        logger: Logger
    ) {
        let eventLoopGroup = MultiThreadedEventLoopGroup.singleton
        var router = router
        health.register(in: &router)
        var all: [any ServerInterceptor] = [RequestLoggingInterceptor()]
        if let tokens = configuration.tokens {
            all.append(AuthenticationInterceptor(tokens: tokens))
        }
        all += interceptors
        self.configuration = configuration
        self.health = health
        self.pipeline = ServerPipeline(router: router, interceptors: all)
        self.logger = logger
        self.group = eventLoopGroup
        self.listening = eventLoopGroup.next().makePromise(of: Endpoint.self)
    }

    /// The address the server listens on, once ``run()`` has bound it (with the real port when the
    /// configuration asked for port 0). Throws if binding failed.
    public var listeningEndpoint: Endpoint {
        get async throws {
            try await self.listening.futureResult.get()
        }
    }

    /// Binds, then serves until shut down: by ``beginGracefulShutdown()``, by the service group's graceful
    /// shutdown, or by cancellation.
    public func run() async throws {
        let serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            let maxFrameSize = self.configuration.maxFrameSize
            let idleTimeout = self.configuration.idleTimeout
            serverChannel = try await ServerBootstrap(group: self.group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .bind(host: self.configuration.endpoint.host, port: self.configuration.endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.wrapFramed(maxFrameSize: maxFrameSize, idleTimeout: idleTimeout)
                    }
                }
        } catch {
            self.logger.error(
                "cannot listen",
                metadata: ["endpoint": "\(self.configuration.endpoint)", "error": "\(error)"]
            )
            self.listening.fail(error)
            throw error
        }
        let port = serverChannel.channel.localAddress?.port ?? self.configuration.endpoint.port
        let endpoint = Endpoint(host: self.configuration.endpoint.host, port: port)
        self.listener.withLock { $0 = serverChannel.channel }
        self.listening.succeed(endpoint)
        self.logger.info("listening", metadata: ["endpoint": "\(endpoint)"])
        if self.shutdownRequested.hasFired {
            serverChannel.channel.close(promise: nil)
        }

        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await serverChannel.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in inbound {
                            group.addTask {
                                await self.serve(connection)
                            }
                        }
                    }
                }
            } onGracefulShutdown: {
                self.beginGracefulShutdown()
            }
        } onCancel: {
            self.beginGracefulShutdown()
        }
        self.logger.info("stopped", metadata: ["endpoint": "\(endpoint)"])
    }

    /// Stops accepting connections, reports NOT_SERVING, tells every connection GoAway, lets calls in flight
    /// finish within the grace period, then closes the connections; ``run()`` returns when all are closed.
    public func beginGracefulShutdown() {
        guard self.shutdownRequested.fire() else { return }
        self.logger.info("shutting down: draining connections", metadata: ["grace-period": "\(self.configuration.drainGracePeriod)"])
        self.health.markAllNotServing()
        self.listener.withLock { $0 }?.close(promise: nil)
    }
}
