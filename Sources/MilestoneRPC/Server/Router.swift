public import MilestoneWire
import Logging

/// The methods a server serves: each method's name, access rule and handler.
public struct Router: Sendable {
    /// A handler on serialized messages.
    public typealias Handler = nonisolated(nonsending) @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse

    /// A synchronous handler on serialized messages, tried before ``Handler``: it answers (or throws) at
    /// once, or returns nil when the call needs the asynchronous handler.
    public typealias ImmediateHandler = @Sendable (ServerRequest, ServerContext) throws -> ServerResponse?

    public struct Route: Sendable {
        public let access: MethodAccess
        public let handler: Handler
        /// The method's immediate answer, if it has one.
        public let immediateHandler: ImmediateHandler?

        @usableFromInline
        init(access: MethodAccess, handler: @escaping Handler, immediateHandler: ImmediateHandler?) {
            self.access = access
            self.handler = handler
            self.immediateHandler = immediateHandler
        }
    }

    /// Internal; usable from the inlinable `register` functions.
    @usableFromInline var routes: [String: Route] = [:]

    public init() {}

    /// A router holding every method of `services`.
    public init(services: [any RegistrableRPCService]) {
        for service in services {
            self.add(service)
        }
    }

    /// Registers every method of `service`, with its immediate answers.
    public mutating func add(_ service: any RegistrableRPCService) {
        service.registerMethods(with: &self)
        service.registerImmediateMethods(with: &self)
    }

    /// Registers a typed handler. A request payload that does not decode fails with INVALID_ARGUMENT
    /// before the handler runs; an error the handler throws that is ``RPCErrorConvertible`` becomes its
    /// ``RPCError`` (any other error becomes INTERNAL in the dispatcher).
    ///
    /// Inlinable, like ``registerImmediate(_:handler:)``: the handler's decoding and encoding are
    /// specialized for its message types in the service's module (no generic dispatch per call).
    @inlinable
    public mutating func register<Input, Output>(
        _ method: WireMethod<Input, Output>,
        access: MethodAccess,
        handler: nonisolated(nonsending) @escaping @Sendable (Input, ServerContext) async throws -> Output
    ) {
        self.routes[method.name] = Route(access: access, handler: { request, context in
            let input = try Self.decode(Input.self, request)
            let output: Output
            do {
                output = try await handler(input, context)
            } catch let error as any RPCErrorConvertible {
                throw error.rpcError
            }
            return try Self.encode(output, context)
        }, immediateHandler: nil)
    }

    /// Gives `method`, already registered, an immediate answer: `handler` runs first, synchronously, on the
    /// thread that read the call (the connection's event loop), with no task made for the call; it returns
    /// the response, throws, or returns nil for the asynchronous handler to answer. For what can be
    /// answered from memory at once (a health check, a cache hit); it must not block, and must have no
    /// effect when it returns nil. It reads the call's deadline from `context.deadline`.
    ///
    /// Every interceptor takes part through ``ServerInterceptor/interceptImmediately(request:context:next:)``;
    /// one that cannot (the default) sends every call of the server to the asynchronous path.
    @inlinable
    public mutating func registerImmediate<Input, Output>(
        _ method: WireMethod<Input, Output>,
        handler: @escaping @Sendable (Input, ServerContext) throws -> Output?
    ) {
        guard let route = self.routes[method.name] else {
            preconditionFailure("\(method.name) needs its handler registered before its immediate answer")
        }
        self.routes[method.name] = Route(access: route.access, handler: route.handler, immediateHandler: { request, context in
            let input = try Self.decode(Input.self, request)
            let output: Output?
            do {
                output = try handler(input, context)
            } catch let error as any RPCErrorConvertible {
                throw error.rpcError
            }
            guard let output else { return nil }
            return try Self.encode(output, context)
        })
    }

    /// A request payload that does not decode fails with INVALID_ARGUMENT before the handler runs.
    @inlinable
    static func decode<Input: WireMessage>(_ type: Input.Type, _ request: ServerRequest) throws -> Input {
        do {
            return try request.payload.withUnsafeBytes { try Input(wireBytes: $0) }
        } catch {
            throw RPCError(code: .invalidArgument, message: "the request payload is not a valid \(Input.self) message (\(error))")
        }
    }

    @inlinable
    static func encode<Output: WireMessage>(_ output: Output, _ context: ServerContext) throws -> ServerResponse {
        do {
            return ServerResponse(payload: try output.wireBytes())
        } catch {
            throw Self.unencodable(error, context)
        }
    }

    @usableFromInline
    static func unencodable(_ error: any Error, _ context: ServerContext) -> RPCError {
        context.logger.error("response could not be encoded", metadata: ["error": "\(error)"])
        return RPCError(code: .internal, message: "the response could not be encoded")
    }

    /// Registers every route of `other`, replacing routes of the same name.
    public mutating func merge(_ other: Router) {
        self.routes.merge(other.routes) { _, new in new }
    }

    public func route(for method: String) -> Route? {
        self.routes[method]
    }

    public var methodNames: [String] {
        self.routes.keys.sorted()
    }
}
