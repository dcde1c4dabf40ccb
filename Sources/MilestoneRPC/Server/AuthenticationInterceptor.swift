import Logging

/// Checks the `authorization: Bearer TOKEN` metadata against the server's tokens and the method's access
/// rule: UNAUTHENTICATED for a missing or unknown token, PERMISSION_DENIED for a role the method does not
/// accept. Methods registered as ``MethodAccess/unauthenticated`` (health) are exempt.
public struct AuthenticationInterceptor: ServerInterceptor {
    private let tokens: BearerTokens

    public init(tokens: BearerTokens) {
        self.tokens = tokens
    }

    public func intercept(
        request: ServerRequest,
        context: ServerContext,
        next: @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
    ) async throws -> ServerResponse {
        guard case .roles(let allowed) = context.access else {
            return try await next(request, context)
        }
        guard let header = request.metadata[Metadata.Keys.authorization] else {
            throw RPCError(code: .unauthenticated, message: "missing bearer token: send \"authorization: Bearer TOKEN\"")
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix) else {
            throw RPCError(code: .unauthenticated, message: "the authorization metadata is not \"Bearer TOKEN\"")
        }
        let token = String(header.dropFirst(prefix.count)).trimmingSpaces
        guard let role = self.tokens.role(of: token) else {
            throw RPCError(code: .unauthenticated, message: "invalid bearer token")
        }
        guard allowed.contains(role) else {
            let names = allowed.map(\.name).sorted().joined(separator: " or ")
            throw RPCError(
                code: .permissionDenied,
                message: "\(context.method) needs the \(names) role; the token has the \(role) role"
            )
        }
        var context = context
        context.role = role
        context.logger[metadataKey: "role"] = "\(role)"
        return try await next(request, context)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
