/// A method of a service in the wire contract, with its request and response types.
/// Generated from the `service` blocks of `Protos/`.
public struct WireMethod<Input: WireMessage, Output: WireMessage>: Sendable, Hashable, CustomStringConvertible {
    /// The method's name on the wire: `package.Service/Method`.
    public let name: String
    /// The method's `idempotency_level` option: only idempotent methods are retried.
    public let idempotency: Idempotency

    public init(name: String, idempotency: Idempotency) {
        self.name = name
        self.idempotency = idempotency
    }

    public var description: String { self.name }

    /// Whether calling the method twice has the effect of calling it once.
    public var isIdempotent: Bool { self.idempotency != .unknown }
}

/// protobuf's `MethodOptions.IdempotencyLevel`.
public enum Idempotency: Sendable, Hashable {
    /// The method may have side effects: never retried.
    case unknown
    /// A read: safe to retry.
    case noSideEffects
    /// A write with the same effect however often it is applied: safe to retry.
    case idempotent
}
