/// Per-call settings for ``RPCClient`` calls.
public struct CallOptions: Sendable {
    /// How long to wait for the response. Inside a server handler, the call's own remaining deadline also
    /// applies, whichever is sooner.
    public var timeout: Duration?
    /// Metadata sent with the call (the client adds `authorization` when it has a token).
    public var metadata: Metadata
    /// Whether to retry on UNAVAILABLE. Only honoured for methods marked idempotent in `Protos/`.
    public var retries: Bool

    public init(timeout: Duration? = nil, metadata: Metadata = [:], retries: Bool = true) {
        self.timeout = timeout
        self.metadata = metadata
        self.retries = retries
    }

    public static let `default` = CallOptions()
}
