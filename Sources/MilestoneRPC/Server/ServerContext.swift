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
    /// A logger carrying the request id and method.
    public var logger: Logger

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
        self.logger = logger
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
