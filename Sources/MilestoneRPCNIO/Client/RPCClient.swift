public import Logging
public import NIOCore
public import MilestoneRPC
import MilestoneWire
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Calls the methods of one server over one multiplexed TCP connection, reconnecting as needed.
///
/// The connection lives in ``run()``: run the client in a task group or `ServiceGroup` for as long as you
/// use it, or use ``withRPCClient(_:configuration:logger:_:)``.
public final class RPCClient: RPCCaller, Service, Sendable {
    public let endpoint: Endpoint
    public let configuration: RPCClientConfiguration
    private let logger: Logger
    private let group: any EventLoopGroup
    private let state: Mutex<State>
    private let connectRequests: AsyncStream<Void>
    private let connectRequestsContinuation: AsyncStream<Void>.Continuation
    /// The `authorization` value of every call, made once; and the metadata of a call that sets none, in
    /// its wire form, made once too.
    private let authorization: String?
    private let defaultWireMetadata: [RPCV1.MetadataEntry]

    private struct State {
        var machine: ClientConnectionStateMachine<ClientConnection>
        var nextWaiterID = 0
    }

    /// - Parameter eventLoopGroup: the loops the connection runs on (default: NIO's singleton group).
    public init(
        endpoint: Endpoint,
        configuration: RPCClientConfiguration = RPCClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.logger = logger
        self.group = eventLoopGroup
        self.state = Mutex(State(machine: ClientConnectionStateMachine(backoff: configuration.backoff)))
        self.authorization = configuration.token.map { "Bearer \($0)" }
        var defaultMetadata = Metadata()
        if let authorization = self.authorization {
            defaultMetadata[Metadata.Keys.authorization] = authorization
        }
        self.defaultWireMetadata = defaultMetadata.wireEntries
        (self.connectRequests, self.connectRequestsContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// Maintains the connection until ``beginGracefulShutdown()``, the service group's shutdown, or
    /// cancellation; then closes it.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    for await _ in self.connectRequests {
                        group.addTask {
                            await self.connectAndServe()
                        }
                    }
                }
            } onGracefulShutdown: {
                self.beginGracefulShutdown()
            }
        } onCancel: {
            self.beginGracefulShutdown()
        }
    }

    /// Fails calls waiting for a connection, closes the connection, and lets ``run()`` return.
    public func beginGracefulShutdown() {
        let (waiters, connection) = self.state.withLock { $0.machine.shutDown() }
        let error = RPCError(code: .unavailable, message: "the client is shut down")
        for waiter in waiters { waiter.resume(throwing: error) }
        connection?.close()
        self.connectRequestsContinuation.finish()
    }

    // MARK: Calls

    /// Sends an encoded request and returns the encoded response with the server's metadata. Idempotent
    /// methods, and calls with an idempotency key, are retried on UNAVAILABLE (``RetryPolicy``). The
    /// typed calls (``RPCCaller/call(_:_:options:)``, ``RPCCaller/unary(_:_:options:)``) go through it.
    ///
    /// - Throws: ``RPCError``, always: the server's status, DEADLINE_EXCEEDED, CANCELLED, UNAVAILABLE.
    public func call(_ request: EncodedRequest, options: CallOptions) async throws -> EncodedResponse {
        let timeout = options.timeout ?? self.configuration.defaultTimeout
        let deadline = Deadline.earliest(timeout.map { Deadline.after($0) }, Deadline.current)
        let metadata: [RPCV1.MetadataEntry]
        if options.metadata.isEmpty {
            metadata = self.defaultWireMetadata
        } else {
            var chosen = options.metadata
            if let authorization = self.authorization, chosen[Metadata.Keys.authorization] == nil {
                chosen[Metadata.Keys.authorization] = authorization
            }
            metadata = chosen.wireEntries
        }
        let retryable = request.isIdempotent || options.idempotencyKey != nil
        let retryPolicy = options.retries && retryable ? self.configuration.retry : .none
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            do {
                let response = try await self.attempt(request.method, request.payload, metadata, deadline)
                return EncodedResponse(payload: response.payload, wireMetadata: response.metadata)
            } catch let error as RPCError where retryPolicy.shouldRetry(error.code, attempt: attempt) {
                let delay = retryPolicy.backoff(afterAttempt: attempt, using: &generator)
                if let deadline, deadline.remaining <= delay { throw error }
                self.logger.debug(
                    "retrying",
                    metadata: ["method": "\(request.method)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw RPCError(code: .cancelled, message: "the call was cancelled")
                }
                attempt += 1
            }
        }
    }

    private func attempt(
        _ method: String,
        _ payload: [UInt8],
        _ metadata: [RPCV1.MetadataEntry],
        _ deadline: Deadline?
    ) async throws -> RPCV1.CallResponse {
        if Task.isCancelled {
            throw RPCError(code: .cancelled, message: "the call was cancelled")
        }
        if let deadline, deadline.hasPassed {
            throw RPCError(code: .deadlineExceeded, message: "the deadline passed before the call was sent")
        }
        let connection = try await self.connection(deadline: deadline)
        return try await connection.call(method: method, payload: payload, metadata: metadata, deadline: deadline)
    }

    /// The ready connection, or the one being made (waiting at most until `deadline`).
    private func connection(deadline: Deadline?) async throws -> ClientConnection {
        let (ready, id) = self.state.withLock { state -> (ClientConnection?, Int) in
            if let connection = state.machine.readyConnection { return (connection, 0) }
            state.nextWaiterID += 1
            return (nil, state.nextWaiterID)
        }
        if let ready { return ready }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ClientConnection, any Error>) in
                let action = self.state.withLock { $0.machine.acquire(id: id, waiter: continuation) }
                switch action {
                case .use(let connection):
                    continuation.resume(returning: connection)
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .wait(let startConnecting):
                    if startConnecting {
                        self.connectRequestsContinuation.yield()
                    }
                    if let deadline {
                        _ = self.group.next().scheduleTask(in: TimeAmount(deadline.remaining)) {
                            self.abandonWaiter(id, RPCError(code: .deadlineExceeded, message: "the deadline passed while connecting to \(self.endpoint)"))
                        }
                    }
                }
            }
        } onCancel: {
            self.abandonWaiter(id, RPCError(code: .cancelled, message: "the call was cancelled"))
        }
    }

    private func abandonWaiter(_ id: Int, _ error: RPCError) {
        self.state.withLock { $0.machine.cancelWaiter(id: id) }?.resume(throwing: error)
    }

    // MARK: Connections

    private func connectAndServe() async {
        let timeout = self.state.withLock { $0.machine.connectTimeout }
        let maxFrameSize = self.configuration.maxFrameSize
        let connection: ClientConnection
        do {
            let logger = self.logger
            connection = try await ClientBootstrap(group: self.group)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connect(host: self.endpoint.host, port: self.endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let connection = ClientConnection(channel: channel, maxFrameSize: maxFrameSize, logger: logger)
                        let handler = ClientFrameHandler(connection: connection, logger: logger) { [weak self] connection in
                            self?.state.withLock { $0.machine.connectionUnusable(connection) }
                        }
                        try channel.addClientFraming(maxFrameSize: maxFrameSize, handler: handler)
                        return connection
                    }
                }
        } catch {
            let failure = RPCError(code: .unavailable, message: "cannot connect to \(self.endpoint): \(error)")
            let (waiters, retryAfter) = self.state.withLock { $0.machine.connectFailed(failure) }
            self.logger.info(
                "connection attempt failed",
                metadata: ["endpoint": "\(self.endpoint)", "error": "\(error)", "retry-after": "\(retryAfter)"]
            )
            for waiter in waiters { waiter.resume(throwing: failure) }
            return
        }

        let (waiters, shutDown) = self.state.withLock { state in
            (state.machine.connectSucceeded(connection), state.machine.isShutDown)
        }
        if shutDown {
            connection.close()
            return
        }
        self.logger.debug("connected", metadata: ["endpoint": "\(self.endpoint)"])
        for waiter in waiters { waiter.resume(returning: connection) }

        // Responses are handled on the event loop as they arrive (``ClientFrameHandler``); this task
        // keeps the connection alive and waits for its end.
        await withDiscardingTaskGroup { group in
            if let interval = self.configuration.keepaliveInterval {
                let timeout = self.configuration.keepaliveTimeout
                group.addTask(executorPreference: connection.executor) {
                    await connection.keepalive(interval: interval, timeout: timeout)
                }
            }
            try? await connection.closeFuture.get()
            group.cancelAll()
        }
        self.state.withLock { $0.machine.connectionUnusable(connection) }
        connection.closed(error: RPCError(code: .unavailable, message: "the connection to \(self.endpoint) closed"))
    }
}

/// Runs a client for the duration of `body`, then shuts it down.
public func withRPCClient<Result: Sendable>(
    _ endpoint: Endpoint,
    configuration: RPCClientConfiguration = RPCClientConfiguration(),
    logger: Logger,
    _ body: (RPCClient) async throws -> Result
) async throws -> Result {
    let client = RPCClient(endpoint: endpoint, configuration: configuration, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        defer { client.beginGracefulShutdown() }
        return try await body(client)
    }
}
