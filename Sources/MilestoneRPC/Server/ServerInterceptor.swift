/// Runs around every call's handler, in the order the server lists its interceptors.
public protocol ServerInterceptor: Sendable {
    nonisolated(nonsending) func intercept(
        request: ServerRequest,
        context: ServerContext,
        next: nonisolated(nonsending) @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
    ) async throws -> ServerResponse

    /// The same, around a method's immediate answer (``Router/registerImmediate(_:handler:)``), on the
    /// thread that read the call: returns what `next` returns (nil: the call goes on to the asynchronous
    /// path, where ``intercept(request:context:next:)`` runs for it), or throws. It must have no effect when
    /// `next` returns nil. The default returns nil without calling `next`: an interceptor that does not
    /// implement it sends every call to the asynchronous path.
    func interceptImmediately(
        request: ServerRequest,
        context: ServerContext,
        next: (ServerRequest, ServerContext) throws -> ServerResponse?
    ) throws -> ServerResponse?
}

extension ServerInterceptor {
    public func interceptImmediately(
        request: ServerRequest,
        context: ServerContext,
        next: (ServerRequest, ServerContext) throws -> ServerResponse?
    ) throws -> ServerResponse? {
        nil
    }
}
