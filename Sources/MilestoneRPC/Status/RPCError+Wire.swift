package import MilestoneWire

extension RPCError.Code {
    /// The envelope's status enum for this code.
    package var wireStatus: RPCV1.StatusCode {
        RPCV1.StatusCode(rawValue: Int32(self.rawValue))
    }
}

extension RPCV1.StatusCode {
    /// The error code of a non-OK status; unknown numbers map to UNKNOWN, as gRPC does.
    package var errorCode: RPCError.Code? {
        if self == .ok { return nil }
        return RPCError.Code(rawValue: Int(self.rawValue)) ?? .unknown
    }
}
