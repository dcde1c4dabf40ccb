public import MilestoneRPC

/// How an ``RPCServer`` listens and limits its connections.
public struct RPCServerConfiguration: Sendable {
    /// Where to listen. Port 0 picks a free port (see ``RPCServer/listeningEndpoint``).
    public var endpoint: Endpoint
    /// The largest frame accepted or sent (default 4 MiB).
    public var maxFrameSize: Int
    /// Connections beyond this many are told GoAway (RESOURCE_EXHAUSTED) and closed (default 1024).
    public var maxConnections: Int
    /// Calls beyond this many in flight on one connection get RESOURCE_EXHAUSTED (default 1024).
    public var maxConcurrentCallsPerConnection: Int
    /// A connection that sends nothing (not even a keepalive ping) for this long is closed (default 5 min).
    public var idleTimeout: Duration
    /// On shutdown, calls in flight get this long to finish before they are cancelled (default 10 s).
    public var drainGracePeriod: Duration
    /// The bearer tokens accepted. Nil: no authentication (tests, trusted loopback use).
    public var tokens: BearerTokens?

    public init(
        endpoint: Endpoint = Endpoint(host: "127.0.0.1", port: 0),
        maxFrameSize: Int = 4 * 1024 * 1024,
        maxConnections: Int = 1024,
        maxConcurrentCallsPerConnection: Int = 1024,
        idleTimeout: Duration = .seconds(300),
        drainGracePeriod: Duration = .seconds(10),
        tokens: BearerTokens? = nil
    ) {
        self.endpoint = endpoint
        self.maxFrameSize = maxFrameSize
        self.maxConnections = maxConnections
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.idleTimeout = idleTimeout
        self.drainGracePeriod = drainGracePeriod
        self.tokens = tokens
    }
}
