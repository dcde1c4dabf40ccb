public import Logging
public import MilestoneRPC
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Serves RPC services over TCP: length-prefixed protobuf frames, many concurrent calls per connection.
/// Run it in a `ServiceGroup` (graceful shutdown on SIGTERM drains it) or call ``run()``.
public final class RPCServer: Service, Sendable {
    public let configuration: RPCServerConfiguration
    /// The server's health service, answering `milestone.health.v1.Health/Check`.
    public let health: HealthService

    let pipeline: ServerPipeline
    let logger: Logger
    /// How often a connection paused reading because its peer did not read its responses.
    package let readPauses = EventCounter()
    /// How often a connection was closed because a large frame did not fit ``largeFrames``.
    package let largeFrameRefusals = EventCounter()
    /// The bytes of large frames all connections are receiving or hold undecoded, against
    /// ``RPCServerConfiguration/maxLargeFrameBytes``.
    let largeFrames: LargeFrameBudget
    private let eventLoopGroup: any EventLoopGroup
    private let state = Mutex(RPCServerLifecycle<any Channel>())

    /// A server hosting `services` (and health, which reports each of them SERVING while it runs).
    ///
    /// - Parameters:
    ///   - interceptors: run after request logging and authentication, around every handler.
    ///   - eventLoopGroup: the loops the server runs on; share them with an HTTP server in the same process
    ///     (default: NIO's singleton group).
    public convenience init(
        configuration: RPCServerConfiguration,
        services: [any RegistrableRPCService],
        interceptors: [any ServerInterceptor] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.init(
            configuration: configuration,
            router: Router(services: services),
            health: HealthService(services: services.flatMap(\.healthServiceNames)),
            interceptors: interceptors,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        )
    }

    /// A server of a hand-built ``Router`` (tests of the framework itself); services use
    /// ``init(configuration:services:interceptors:eventLoopGroup:logger:)``.
    ///
    /// - Parameters:
    ///   - router: the methods to serve; the health service's method is added.
    ///   - health: the health service (one reporting the server itself SERVING by default).
    public init(
        configuration: RPCServerConfiguration,
        router: Router,
        health: HealthService = HealthService(),
        interceptors: [any ServerInterceptor] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.health = health
        self.pipeline = Self.pipeline(configuration: configuration, router: router, health: health, interceptors: interceptors)
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.largeFrames = LargeFrameBudget(limit: configuration.maxLargeFrameBytes)
    }

    /// The handlers a server runs: `router`'s and `health`'s methods, wrapped in request logging, then
    /// authentication (when `configuration` has tokens), then `interceptors`.
    package static func pipeline(
        configuration: RPCServerConfiguration,
        router: Router,
        health: HealthService,
        interceptors: [any ServerInterceptor]
    ) -> ServerPipeline {
        var router = router
        router.add(health)
        var all: [any ServerInterceptor] = [RequestLoggingInterceptor()]
        if case .bearerTokens(let tokens) = configuration.authentication {
            all.append(AuthenticationInterceptor(tokens: tokens))
        }
        return ServerPipeline(router: router, interceptors: all + interceptors)
    }

    /// The address the server listens on, once ``run()`` has bound it (with the real port when the
    /// configuration asked for port 0).
    ///
    /// - Throws: ``RPCError`` when binding failed or the server stopped before listening.
    public var listeningEndpoint: Endpoint {
        get async throws {
            let id = self.state.withLock { $0.makeWaiterID() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Endpoint, any Error>) in
                    let action = self.state.withLock { state -> RPCServerLifecycle<any Channel>.EndpointAction in
                        // Checked under the lock that the cancellation handler takes: no lost wake-up.
                        if Task.isCancelled {
                            return .fail(RPCError(code: .cancelled, message: "stopped waiting for the server to listen"))
                        }
                        return state.waitForEndpoint(id: id, continuation)
                    }
                    switch action {
                    case .resume(let endpoint): continuation.resume(returning: endpoint)
                    case .fail(let error): continuation.resume(throwing: error)
                    case .wait: break
                    }
                }
            } onCancel: {
                self.state.withLock { $0.cancelEndpointWaiter(id: id) }?
                    .resume(throwing: RPCError(code: .cancelled, message: "stopped waiting for the server to listen"))
            }
        }
    }

    /// Binds, then serves until shut down: by ``beginGracefulShutdown()``, by the service group's graceful
    /// shutdown, or by cancellation. Returns once every connection is closed and every call's task ended.
    public func run() async throws {
        if case .fail(let error) = self.state.withLock({ $0.startRunning() }) {
            throw error
        }
        if case .bearerTokens(let tokens) = self.configuration.authentication, tokens.isEmpty {
            let error = RPCError(
                code: .failedPrecondition,
                message: "no bearer token is configured: a server with access rules needs at least one token"
            )
            self.fail(error)
            throw error
        }
        if case .insecureNoAuthentication = self.configuration.authentication {
            self.logger.warning("serving WITHOUT authentication: every access rule is ignored (tests only)")
        }
        let serverChannel: NIOAsyncChannel<ServerConnectionChannel, Never>
        do {
            let configuration = self.configuration
            let largeFrames = self.largeFrames
            let unwritten = configuration.maxUnwrittenBytesPerConnection
            serverChannel = try await ServerBootstrap(group: self.eventLoopGroup)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: unwritten / 2, high: unwritten))
                .bind(host: configuration.endpoint.host, port: configuration.endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.wrapFramedForServer(configuration, largeFrames: largeFrames)
                    }
                }
        } catch {
            self.logger.error(
                "cannot listen",
                metadata: ["endpoint": "\(self.configuration.endpoint)", "error": "\(error)"]
            )
            self.fail(RPCError(code: .unavailable, message: "cannot listen on \(self.configuration.endpoint): \(error)"))
            throw error
        }
        let port = serverChannel.channel.localAddress?.port ?? self.configuration.endpoint.port
        let endpoint = Endpoint(host: self.configuration.endpoint.host, port: port)
        let bound = self.state.withLock { $0.bound(endpoint, listener: serverChannel.channel) }
        for waiter in bound.waiters { waiter.resume(returning: endpoint) }
        self.logger.info("listening", metadata: ["endpoint": "\(endpoint)"])
        if bound.closeNow {
            serverChannel.channel.close(promise: nil)
        }

        defer {
            self.fail(RPCError(code: .unavailable, message: "the server stopped"))
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

    private func fail(_ error: RPCError) {
        for waiter in self.state.withLock({ $0.stopped(error) }) {
            waiter.resume(throwing: error)
        }
    }

    /// Stops accepting connections, reports NOT_SERVING, tells every connection GoAway, lets calls in flight
    /// finish within the grace period, then closes the connections; ``run()`` returns when all are closed.
    public func beginGracefulShutdown() {
        guard let action = self.state.withLock({ $0.requestShutdown() }) else { return }
        self.logger.info("shutting down: draining connections", metadata: ["grace-period": "\(self.configuration.drainGracePeriod)"])
        self.health.markAllNotServing()
        action.listener?.close(promise: nil)
        for waiter in action.waiters { waiter.resume() }
        let error = RPCError(code: .unavailable, message: "the server was shut down before it listened")
        for waiter in action.endpointWaiters { waiter.resume(throwing: error) }
    }

    /// Returns when shutdown is requested, or when the task is cancelled.
    func waitForShutdown() async {
        let id = self.state.withLock { $0.makeWaiterID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Checked under the lock that the cancellation handler takes: no lost wake-up.
                if !self.state.withLock({ Task.isCancelled ? false : $0.waitForShutdown(id: id, continuation) }) {
                    continuation.resume()
                }
            }
        } onCancel: {
            self.state.withLock { $0.cancelShutdownWaiter(id: id) }?.resume()
        }
    }

    /// Counts a connection in; returns whether it is within the server's and its peer's limits.
    func connectionOpened(peer: String) -> RPCServerLifecycle<any Channel>.Admission {
        self.state.withLock {
            $0.connectionOpened(
                peer: peer,
                limit: self.configuration.maxConnections,
                perPeerLimit: self.configuration.maxConnectionsPerPeer
            )
        }
    }

    func connectionClosed(peer: String) {
        self.state.withLock { $0.connectionClosed(peer: peer) }
    }
}
