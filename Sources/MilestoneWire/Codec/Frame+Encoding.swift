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

extension RPCV1.Frame {
    /// The envelope's repeated fields and unknown fields hold at most 1,024 entries in one message: a call's
    /// metadata may have 64 entries (more are answered INVALID_ARGUMENT), and a frame holding more than
    /// 1,024 is refused as malformed before it is decoded, so that a peer cannot make a frame of empty
    /// entries take tens of times its size in memory.
    public static var maxRepeatedEntries: Int { 1_024 }
}
