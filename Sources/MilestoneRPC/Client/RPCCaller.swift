public import MilestoneWire

/// What carries unary calls to a server: the TCP `RPCClient`, or anything else (an in-process fake in a
/// test). It moves encoded messages; the typed calls the generated `…Client` types make (``call(_:_:options:)``,
/// ``unary(_:_:options:)``) encode and decode around it, inlined into their callers, so that they are
/// specialized for their message types.
public protocol RPCCaller: Sendable {
    /// Sends `request` and returns the encoded response with the server's metadata.
    ///
    /// - Throws: ``RPCError``, always.
    func call(_ request: EncodedRequest, options: CallOptions) async throws -> EncodedResponse
}

/// A call's request as it goes on the wire.
public struct EncodedRequest: Sendable {
    /// The method's name on the wire: `package.Service/Method`.
    public var method: String
    /// Whether the method is marked idempotent in `Protos/` (a transport may then retry it).
    public var isIdempotent: Bool
    /// The request message, serialized.
    public var payload: [UInt8]

    public init(method: String, isIdempotent: Bool, payload: [UInt8]) {
        self.method = method
        self.isIdempotent = isIdempotent
        self.payload = payload
    }
}

/// A successful call's response message, serialized, and the metadata the server sent with it.
public struct EncodedResponse: Sendable {
    public var payload: [UInt8]
    /// The metadata as they came from the wire (made into ``Metadata`` only when read).
    @usableFromInline package var wireMetadata: [RPCV1.MetadataEntry]

    public init(payload: [UInt8], metadata: Metadata = Metadata()) {
        self.payload = payload
        self.wireMetadata = metadata.wireEntries
    }

    package init(payload: [UInt8], wireMetadata: [RPCV1.MetadataEntry]) {
        self.payload = payload
        self.wireMetadata = wireMetadata
    }

    public var metadata: Metadata { Metadata(wireEntries: self.wireMetadata) }
}

extension RPCCaller {
    /// Calls `method` and returns the response with the server's metadata.
    ///
    /// - Throws: ``RPCError``, always: INVALID_ARGUMENT for a request that cannot be encoded, INTERNAL for a
    ///   response that is not a valid `Output`, or the call's status.
    @inlinable
    public func call<Input, Output>(
        _ method: WireMethod<Input, Output>,
        _ request: Input,
        options: CallOptions = .default
    ) async throws -> ClientResponse<Output> {
        let payload: [UInt8]
        do {
            payload = try request.wireBytes()
        } catch {
            throw RPCError(code: .invalidArgument, message: "the request could not be encoded: \(error)")
        }
        let encoded = EncodedRequest(method: method.name, isIdempotent: method.isIdempotent, payload: payload)
        let response = try await self.call(encoded, options: options)
        do {
            return ClientResponse(
                message: try response.payload.withUnsafeBytes { try Output(wireBytes: $0) },
                wireMetadata: response.wireMetadata
            )
        } catch {
            throw RPCError(code: .internal, message: "the response is not a valid \(Output.self) message")
        }
    }

    /// Calls `method` and returns its response message.
    ///
    /// - Throws: ``RPCError``, always.
    @inlinable
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

    @usableFromInline var wireMetadata: [RPCV1.MetadataEntry]
    @usableFromInline var setMetadata: Metadata?

    public init(message: Message, metadata: Metadata) {
        self.message = message
        self.wireMetadata = []
        self.setMetadata = metadata
    }

    /// A response with the metadata as they came from the wire.
    @usableFromInline
    package init(message: Message, wireMetadata: [RPCV1.MetadataEntry]) {
        self.message = message
        self.wireMetadata = wireMetadata
        self.setMetadata = nil
    }
}
