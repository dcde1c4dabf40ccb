public import Logging

/// What a handler knows about the call it serves.
///
/// A value type of two words and the role: what never changes after the call was received is shared by
/// every copy (one reference), so that handing the context down the interceptors and into the handler
/// copies almost nothing and keeps the call's async frames small.
public struct ServerContext: Sendable {
    /// What was known when the call was received.
    private final class Call: Sendable {
        let method: String
        let requestMetadata: Metadata
        let requestID: String
        let deadline: Deadline?
        let peer: String
        let access: MethodAccess
        let baseLogger: Logger

        init(method: String, requestMetadata: Metadata, requestID: String, deadline: Deadline?, peer: String, access: MethodAccess, baseLogger: Logger) {
            self.method = method
            self.requestMetadata = requestMetadata
            self.requestID = requestID
            self.deadline = deadline
            self.peer = peer
            self.access = access
            self.baseLogger = baseLogger
        }
    }

    /// A logger a handler or interceptor set (`logger`'s setter).
    private final class LoggerOverride: Sendable {
        let logger: Logger

        init(_ logger: Logger) {
            self.logger = logger
        }
    }

    private let call: Call
    private var loggerOverride: LoggerOverride?

    /// `package.Service/Method`.
    public var method: String { self.call.method }
    /// The metadata the client sent.
    public var requestMetadata: Metadata { self.call.requestMetadata }
    /// The call's request id: the client's `x-request-id`, or one the server made.
    public var requestID: String { self.call.requestID }
    /// When the client stops waiting, if it set a timeout.
    public var deadline: Deadline? { self.call.deadline }
    /// The remote address.
    public var peer: String { self.call.peer }
    /// Who may call the method.
    public var access: MethodAccess { self.call.access }
    /// The role of the caller's token, once authenticated.
    public internal(set) var role: Role?
    /// A logger carrying the peer, request id, method and (once authenticated) role. Made on each use
    /// unless one was set, so that a call that logs nothing pays nothing for it.
    public var logger: Logger {
        get { self.loggerOverride?.logger ?? self.makeCallLogger() }
        set { self.loggerOverride = LoggerOverride(newValue) }
    }

    /// The level the call's logger logs at: check it before building costly log metadata.
    public var logLevel: Logger.Level { self.call.baseLogger.logLevel }

    private func makeCallLogger() -> Logger {
        var logger = self.call.baseLogger
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
        self.call = Call(
            method: method,
            requestMetadata: requestMetadata,
            requestID: requestID,
            deadline: deadline,
            peer: peer,
            access: access,
            baseLogger: logger
        )
        self.role = nil
        self.loggerOverride = nil
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
