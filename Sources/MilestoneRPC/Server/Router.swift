public import MilestoneWire
import Logging

/// The methods a server serves: each method's name, access rule and handler.
public struct Router: Sendable {
    /// A handler on serialized messages.
    public typealias Handler = @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse

    public struct Route: Sendable {
        public let access: MethodAccess
        public let handler: Handler
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    /// A router holding every method of `services`.
    public init(services: [any RegistrableRPCService]) {
        for service in services {
            service.registerMethods(with: &self)
        }
    }

    /// Registers a typed handler. A request payload that does not decode fails with INVALID_ARGUMENT
    /// before the handler runs; an error the handler throws that is ``RPCErrorConvertible`` becomes its
    /// ``RPCError`` (any other error becomes INTERNAL in the dispatcher).
    public mutating func register<Input, Output>(
        _ method: WireMethod<Input, Output>,
        access: MethodAccess,
        handler: @escaping @Sendable (Input, ServerContext) async throws -> Output
    ) {
        self.routes[method.name] = Route(access: access) { request, context in
            let input: Input
            do {
                input = try request.payload.withUnsafeBytes { try Input(wireBytes: $0) }
            } catch {
                throw RPCError(
                    code: .invalidArgument,
                    message: "the request payload is not a valid \(Input.self) message (\(error))"
                )
            }
            let output: Output
            do {
                output = try await handler(input, context)
            } catch let error as any RPCErrorConvertible {
                throw error.rpcError
            }
            do {
                return ServerResponse(payload: try output.wireBytes())
            } catch {
                context.logger.error("response could not be encoded", metadata: ["error": "\(error)"])
                throw RPCError(code: .internal, message: "the response could not be encoded")
            }
        }
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
