/// Runs around every call's handler, in the order the server lists its interceptors.
public protocol ServerInterceptor: Sendable {
    func intercept(
        request: ServerRequest,
        context: ServerContext,
        next: @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
    ) async throws -> ServerResponse
}
