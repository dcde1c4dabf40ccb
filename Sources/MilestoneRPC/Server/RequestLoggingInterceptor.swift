import Logging

/// Logs each call's end with its status and duration: debug for OK, info for a status, error (with details
/// kept to the log) for anything else. The call's logger already carries its request id and method.
public struct RequestLoggingInterceptor: ServerInterceptor {
    public init() {}

    nonisolated(nonsending) public func intercept(
        request: ServerRequest,
        context: ServerContext,
        next: nonisolated(nonsending) @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
    ) async throws -> ServerResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            Self.logSuccess(context, since: start)
            return response
        } catch {
            Self.logFailure(error, context, since: start)
            throw error
        }
    }

    public func interceptImmediately(
        request: ServerRequest,
        context: ServerContext,
        next: (ServerRequest, ServerContext) throws -> ServerResponse?
    ) throws -> ServerResponse? {
        let start = ContinuousClock.now
        do {
            // Nil: the asynchronous path answers, and logs.
            guard let response = try next(request, context) else { return nil }
            Self.logSuccess(context, since: start)
            return response
        } catch {
            Self.logFailure(error, context, since: start)
            throw error
        }
    }

    private static func logSuccess(_ context: ServerContext, since start: ContinuousClock.Instant) {
        if context.logLevel <= .debug {
            context.logger.debug("call ok", metadata: ["duration": "\(ContinuousClock.now - start)"])
        }
    }

    private static func logFailure(_ error: any Error, _ context: ServerContext, since start: ContinuousClock.Instant) {
        if let error = error as? RPCError {
            context.logger.info(
                "call failed",
                metadata: [
                    "status": "\(error.code)", "message": "\(error.message)",
                    "duration": "\(ContinuousClock.now - start)",
                ]
            )
        } else {
            context.logger.error(
                "call failed with an unexpected error",
                metadata: ["error": "\(String(reflecting: error))", "duration": "\(ContinuousClock.now - start)"]
            )
        }
    }
}
