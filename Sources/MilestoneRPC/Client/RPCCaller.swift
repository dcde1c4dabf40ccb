public import MilestoneWire

/// What carries unary calls to a server: the TCP `RPCClient`, or anything else (an in-process fake in a
/// test). The generated `…Client` types call through it.
public protocol RPCCaller: Sendable {
    /// Calls `method` and returns the response with the server's metadata.
    ///
    /// - Throws: ``RPCError``, always.
    func call<Input, Output>(
        _ method: WireMethod<Input, Output>,
        _ request: Input,
        options: CallOptions
    ) async throws -> ClientResponse<Output>
}

extension RPCCaller {
    /// Calls `method` and returns its response message.
    ///
    /// - Throws: ``RPCError``, always.
    public func unary<Input, Output>(
        _ method: WireMethod<Input, Output>,
        _ request: Input,
        options: CallOptions = .default
    ) async throws -> Output {
        try await self.call(method, request, options: options).message
    }
}

/// A successful call's response message and the metadata the server sent with it.
public struct ClientResponse<Message: WireMessage>: Sendable {
    public var message: Message
    /// Made from the response's wire entries when first read (a caller that only wants the message, as
    /// `unary` does, pays nothing for it).
    public var metadata: Metadata {
        get { self.setMetadata ?? Metadata(wireEntries: self.wireMetadata) }
        set { self.setMetadata = newValue }
    }

    private var wireMetadata: [RPCV1.MetadataEntry]
    private var setMetadata: Metadata?

    public init(message: Message, metadata: Metadata) {
        self.message = message
        self.wireMetadata = []
        self.setMetadata = metadata
    }

    /// A response with the metadata as they came from the wire.
    package init(message: Message, wireMetadata: [RPCV1.MetadataEntry]) {
        self.message = message
        self.wireMetadata = wireMetadata
        self.setMetadata = nil
    }
}
