extension RPCV1.Frame {
    /// Encodes the frame and lends its bytes to `body`, which copies them where they go (an outbound
    /// buffer): unlike ``wireBytes()``, no array is made. The bytes are valid only during `body`.
    ///
    /// - Throws: ``WireError`` when a value cannot be encoded (a string holding a NUL character), or what
    ///   `body` throws.
    /// Not generic, so that a caller in another module gets no generic dispatch per frame: `body` returns
    /// what it has to say through the variables it captures.
    public func withWireBytes(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try ProtobufCCodec.withEncoded(self, body)
    }
}
