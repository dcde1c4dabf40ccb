public import Logging

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// `package.Service/Method`.
    public let method: String
    /// The metadata the client sent.
    public let requestMetadata: Metadata
    /// The call's request id: the client's `x-request-id`, or one the server made.
    public internal(set) var requestID: String
    /// When the client stops waiting, if it set a timeout.
    public let deadline: Deadline?
    /// The remote address.
    public let peer: String
    /// Who may call the method.
    public let access: MethodAccess
    /// The role of the caller's token, once authenticated.
    public internal(set) var role: Role?
    /// A logger carrying the peer, request id, method and (once authenticated) role. Made on first use, so
    /// that a call that logs nothing pays nothing for it.
    public var logger: Logger {
        get { self.callLogger ?? self.makeCallLogger() }
        set { self.callLogger = newValue }
    }

    /// The level the call's logger logs at: check it before building costly log metadata.
    public var logLevel: Logger.Level { self.baseLogger.logLevel }

    private let baseLogger: Logger
    private var callLogger: Logger?

    private func makeCallLogger() -> Logger {
        var logger = self.baseLogger
        // One assignment of the whole metadata: a handler such as swift-log's StreamLogHandler re-renders
        // its metadata on every change, so three subscript sets cost three renderings.
        var metadata = logger.handler.metadata
        metadata["request-id"] = "\(self.requestID)"
        metadata["method"] = "\(self.method)"
        if let role = self.role {
            metadata["role"] = "\(role)"
        }
        logger.handler.metadata = metadata
        return logger
    }

    package init(
        method: String,
        requestMetadata: Metadata,
        requestID: String,
        deadline: Deadline?,
        peer: String,
        access: MethodAccess,
        logger: Logger
    ) {
        self.method = method
        self.requestMetadata = requestMetadata
        self.requestID = requestID
        self.deadline = deadline
        self.peer = peer
        self.access = access
        self.role = nil
        self.baseLogger = logger
        self.callLogger = nil
    }
}

/// A call's request as interceptors see it: the payload still serialized.
public struct ServerRequest: Sendable {
    public var metadata: Metadata
    public var payload: [UInt8]

    public init(metadata: Metadata, payload: [UInt8]) {
        self.metadata = metadata
        self.payload = payload
    }
}

/// A successful call's response as interceptors see it.
public struct ServerResponse: Sendable {
    public var metadata: Metadata
    public var payload: [UInt8]

    public init(metadata: Metadata = [:], payload: [UInt8]) {
        self.metadata = metadata
        self.payload = payload
    }
}
