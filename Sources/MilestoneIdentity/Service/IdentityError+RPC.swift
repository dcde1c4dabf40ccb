public import MilestoneRPC

/// The one place where the identity store's errors become RPC statuses.
extension IdentityError: RPCErrorConvertible {
    public var rpcError: RPCError {
        let code: RPCError.Code = switch self.code {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .failedPrecondition: .failedPrecondition
        case .unavailable: .unavailable
        case .unauthenticated: .unauthenticated
        case .permissionDenied: .permissionDenied
        default: .internal
        }
        return RPCError(code: code, message: self.message)
    }
}

/// Sign-in failures as RPC statuses; the message says what happened and what to do.
extension SignInError: RPCErrorConvertible {
    public var rpcError: RPCError {
        let code: RPCError.Code = switch self.reason {
        case .notConfigured, .unknownState, .expired, .tenantMismatch, .configurationChanged: .failedPrecondition
        case .providerError: .permissionDenied
        case .invalidToken: .unauthenticated
        case .providerUnavailable: .unavailable
        case .invalidRequest: .invalidArgument
        }
        return RPCError(code: code, message: "\(self.message) \(self.fix)")
    }
}
