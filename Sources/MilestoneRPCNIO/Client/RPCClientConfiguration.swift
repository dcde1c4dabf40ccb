public import MilestoneRPC

/// How an ``RPCClient`` connects, authenticates, times out and retries.
public struct RPCClientConfiguration: Sendable {
    /// Sent as `authorization: Bearer TOKEN` on every call. Never printed.
    public var token: String?
    /// Used when a call sets no timeout of its own (nil: none).
    public var defaultTimeout: Duration?
    /// Reconnection delays after failed connection attempts.
    public var backoff: ConnectionBackoff
    /// Retries of idempotent calls that fail with UNAVAILABLE.
    public var retry: RetryPolicy
    /// A ping is sent this often on an open connection (nil: never).
    public var keepaliveInterval: Duration?
    /// A connection whose ping is not answered within this time is closed.
    public var keepaliveTimeout: Duration
    /// The largest frame sent or accepted (default 4 MiB).
    public var maxFrameSize: Int

    public init(
        token: String? = nil,
        defaultTimeout: Duration? = nil,
        backoff: ConnectionBackoff = ConnectionBackoff(),
        retry: RetryPolicy = RetryPolicy(),
        keepaliveInterval: Duration? = .seconds(60),
        keepaliveTimeout: Duration = .seconds(20),
        maxFrameSize: Int = 4 * 1024 * 1024
    ) {
        self.token = token
        self.defaultTimeout = defaultTimeout
        self.backoff = backoff
        self.retry = retry
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.maxFrameSize = maxFrameSize
    }
}

extension RPCClientConfiguration: CustomStringConvertible, CustomReflectable {
    /// The settings, with the token redacted.
    public var description: String {
        "RPCClientConfiguration(token: \(self.token == nil ? "none" : "<redacted>"), "
            + "defaultTimeout: \(self.defaultTimeout.map { "\($0)" } ?? "none"), "
            + "keepaliveInterval: \(self.keepaliveInterval.map { "\($0)" } ?? "none"), maxFrameSize: \(self.maxFrameSize))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": self.description])
    }
}
