/// An error that stands for one RPC status: a domain error (a store's, say) that its service maps to the
/// wire in one place, by conforming to this protocol, instead of wrapping every handler.
///
/// ``Router`` converts such errors thrown by a handler into their ``RPCError``; any other error becomes
/// INTERNAL, with its details kept to the server's log.
public protocol RPCErrorConvertible: Error {
    /// The status and message sent to the caller; it must not hold secrets.
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}
