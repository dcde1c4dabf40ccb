public import MilestoneRPC

/// The one place where the store's errors become RPC statuses.
extension DirectoryError: RPCErrorConvertible {
    public var rpcError: RPCError {
        RPCError(code: self.code.rpcCode, message: self.message)
    }
}

extension DirectoryError.Code {
    /// The RPC status for this code.
    public var rpcCode: RPCError.Code {
        switch self {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .aborted: .aborted
        case .unavailable: .unavailable
        default: .internal
        }
    }
}
