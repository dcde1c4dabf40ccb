public import MilestoneRPC

/// How an ``RPCServer`` listens, authenticates and limits its connections.
public struct RPCServerConfiguration: Sendable {
    /// How callers prove who they are.
    public enum Authentication: Sendable {
        /// Bearer tokens in the `authorization` metadata, each with its role; methods' access rules apply.
        /// The server refuses to start when the tokens are empty.
        case bearerTokens(BearerTokens)
        /// No authentication at all: every access rule is ignored, admin-only methods included. For tests
        /// of servers whose methods are all unauthenticated; never for a deployment. The server logs a
        /// warning when it starts like this.
        case insecureNoAuthentication
    }

    /// Where to listen. Port 0 picks a free port (see ``RPCServer/listeningEndpoint``).
    public var endpoint: Endpoint
    /// How callers authenticate (no default: a server must say it).
    public var authentication: Authentication
    /// The largest frame accepted or sent (default 4 MiB).
    public var maxFrameSize: Int
    /// Connections beyond this many are told GoAway (RESOURCE_EXHAUSTED) and closed (default 1024).
    public var maxConnections: Int
    /// Connections from one peer address beyond this many are told GoAway (RESOURCE_EXHAUSTED), so that one
    /// client cannot take every slot (default 128).
    public var maxConnectionsPerPeer: Int
    /// Calls beyond this many in flight on one connection get RESOURCE_EXHAUSTED; answered calls whose
    /// response is not yet written still count (default 1024).
    public var maxConcurrentCallsPerConnection: Int
    /// The bytes of frames over 64 KiB that all connections together may be receiving, or hold read and not
    /// yet decoded (default 32 MiB): a large frame is reserved in full when its length prefix arrives, and
    /// a connection whose frame does not fit is told GoAway (RESOURCE_EXHAUSTED) and closed. Bounds what
    /// many connections each inside a frame just under ``maxFrameSize`` could make the server hold. Keep it
    /// at least ``maxFrameSize``: a frame larger than the budget is always refused.
    public var maxLargeFrameBytes: Int
    /// Reading from a connection pauses while more than this many bytes of its responses wait to be
    /// written (the peer is not reading), and resumes below half of it (default 1 MiB).
    public var maxUnwrittenBytesPerConnection: Int
    /// A frame must arrive whole within this long of its first byte, or the connection is closed
    /// (default 30 s).
    public var frameTimeout: Duration
    /// A connection must send its first complete frame within this long of opening, or it is closed
    /// (default 10 s).
    public var firstFrameTimeout: Duration
    /// A connection that sends nothing (not even a keepalive ping) for this long is closed (default 5 min).
    public var idleTimeout: Duration
    /// On shutdown, calls in flight get this long to finish before they are cancelled (default 10 s).
    public var drainGracePeriod: Duration

    public init(
        endpoint: Endpoint = Endpoint(host: "127.0.0.1", port: 0),
        authentication: Authentication,
        maxFrameSize: Int = 4 * 1024 * 1024,
        maxConnections: Int = 1024,
        maxConnectionsPerPeer: Int = 128,
        maxConcurrentCallsPerConnection: Int = 1024,
        maxLargeFrameBytes: Int = 32 * 1024 * 1024,
        maxUnwrittenBytesPerConnection: Int = 1 << 20,
        frameTimeout: Duration = .seconds(30),
        firstFrameTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(300),
        drainGracePeriod: Duration = .seconds(10)
    ) {
        self.endpoint = endpoint
        self.authentication = authentication
        self.maxFrameSize = maxFrameSize
        self.maxConnections = maxConnections
        self.maxConnectionsPerPeer = maxConnectionsPerPeer
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.maxLargeFrameBytes = maxLargeFrameBytes
        self.maxUnwrittenBytesPerConnection = maxUnwrittenBytesPerConnection
        self.frameTimeout = frameTimeout
        self.firstFrameTimeout = firstFrameTimeout
        self.idleTimeout = idleTimeout
        self.drainGracePeriod = drainGracePeriod
    }
}
