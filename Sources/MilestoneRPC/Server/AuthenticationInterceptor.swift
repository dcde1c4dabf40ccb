import Logging

/// Checks the `authorization: Bearer TOKEN` metadata against the server's tokens and the method's access
/// rule: UNAUTHENTICATED for a missing or unknown token, PERMISSION_DENIED for a role the method does not
/// accept. Methods registered as ``MethodAccess/unauthenticated`` (health) are exempt.
public struct AuthenticationInterceptor: ServerInterceptor {
    private let tokens: BearerTokens

    public init(tokens: BearerTokens) {
        self.tokens = tokens
    }

    nonisolated(nonsending) public func intercept(
        request: ServerRequest,
        context: ServerContext,
        next: nonisolated(nonsending) @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
    ) async throws -> ServerResponse {
        try await next(request, self.authenticated(request, context))
    }

    public func interceptImmediately(
        request: ServerRequest,
        context: ServerContext,
        next: (ServerRequest, ServerContext) throws -> ServerResponse?
    ) throws -> ServerResponse? {
        try next(request, self.authenticated(request, context))
    }

    /// The context with the caller's role, or the error that refuses the call.
    private func authenticated(_ request: ServerRequest, _ context: ServerContext) throws -> ServerContext {
        guard case .roles(let allowed) = context.access else {
            return context
        }
        guard let header = request.metadata[Metadata.Keys.authorization] else {
            throw RPCError(code: .unauthenticated, message: "missing bearer token: send \"authorization: Bearer TOKEN\"")
        }
        guard let token = Self.bearerToken(in: header) else {
            throw RPCError(code: .unauthenticated, message: "the authorization metadata is not \"Bearer TOKEN\"")
        }
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
        return context
    }

    /// The token of an `authorization` value "Bearer TOKEN" (the scheme in any case, spaces around the
    /// token ignored), or nil; reads the value in place.
    static func bearerToken(in header: String) -> Substring? {
        let scheme = "bearer ".utf8
        let utf8 = header.utf8
        guard utf8.count > scheme.count else { return nil }
        var index = utf8.startIndex
        for expected in scheme {
            let byte = utf8[index]
            // ASCII letters compare without case; the space exactly.
            guard byte == expected || (expected >= 0x61 && expected <= 0x7A && byte == expected - 0x20) else { return nil }
            index = utf8.index(after: index)
        }
        // Spaces trimmed on the UTF-8 view (no Character processing).
        var end = utf8.endIndex
        while index < end, utf8[index] == 0x20 { index = utf8.index(after: index) }
        while index < end, utf8[utf8.index(before: end)] == 0x20 { end = utf8.index(before: end) }
        return header[index..<end]
    }
}
