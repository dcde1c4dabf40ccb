import Logging

/// Logs each call's end with its status and duration: debug for OK, info for a status, error (with details
/// kept to the log) for anything else. The call's logger already carries its request id and method.
public struct RequestLoggingInterceptor: ServerInterceptor {
    public init() {}

    public func intercept(
        request: ServerRequest,
        context: ServerContext,
        next: @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
    ) async throws -> ServerResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            if context.logLevel <= .debug {
                context.logger.debug("call ok", metadata: ["duration": "\(ContinuousClock.now - start)"])
            }
            return response
        } catch let error as RPCError {
            context.logger.info(
                "call failed",
                metadata: [
                    "status": "\(error.code)", "message": "\(error.message)",
                    "duration": "\(ContinuousClock.now - start)",
                ]
            )
            throw error
        } catch {
            context.logger.error(
                "call failed with an unexpected error",
                metadata: ["error": "\(String(reflecting: error))", "duration": "\(ContinuousClock.now - start)"]
            )
            throw error
        }
    }
}
