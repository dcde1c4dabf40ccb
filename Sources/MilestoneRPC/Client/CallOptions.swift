/// Per-call settings for ``RPCClient`` calls.
public struct CallOptions: Sendable {
    /// How long to wait for the response. Inside a server handler, the call's own remaining deadline also
    /// applies, whichever is sooner.
    public var timeout: Duration?
    /// Metadata sent with the call (the client adds `authorization` when it has a token).
    public var metadata: Metadata
    /// Whether to retry on UNAVAILABLE. Honoured for methods marked idempotent in `Protos/`, and for others
    /// when the call carries an idempotency key (the server then applies it at most once).
    public var retries: Bool

    public init(timeout: Duration? = nil, metadata: Metadata = [:], retries: Bool = true) {
        self.timeout = timeout
        self.metadata = metadata
        self.retries = retries
    }

    public static let `default` = CallOptions()

    /// The call's `idempotency-key` metadata, if set.
    public var idempotencyKey: String? {
        get { self.metadata[Metadata.Keys.idempotencyKey] }
        set { self.metadata[Metadata.Keys.idempotencyKey] = newValue }
    }

    /// These options with an idempotency key: the one already set, or a new random one. The generated
    /// clients call this for every non-idempotent method, so that the call can be retried (by the client on
    /// UNAVAILABLE, or by you with the same options) without being applied twice. To retry across calls,
    /// set your own key and reuse it.
    public func withIdempotencyKey() -> CallOptions {
        guard self.idempotencyKey == nil else { return self }
        var options = self
        options.idempotencyKey = randomHex(bytes: 16)
        return options
    }
}
