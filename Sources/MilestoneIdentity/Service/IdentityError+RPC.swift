public import MilestoneRPC

/// The one place where the identity store's errors become RPC statuses.
extension IdentityError: RPCErrorConvertible {
    public var rpcError: RPCError {
        let code: RPCError.Code = switch self.code {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .failedPrecondition: .failedPrecondition
        case .unavailable: .unavailable
        default: .internal
        }
        return RPCError(code: code, message: self.message)
    }
}
