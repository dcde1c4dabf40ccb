internal import CProtobufC

/// Encodes and decodes generated messages with libprotobuf-c.
enum ProtobufCCodec {
    static func encode<Message: ProtobufCBridged>(_ message: Message) throws -> [UInt8] {
        // The C message is built in scratch space on the stack (the heap only for what does not fit).
        try withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 16) { scratch in
            let arena = CArena(scratch: scratch)
            defer { arena.release() }
            let c = cpc_message(try message.makeCMessage(in: arena))
            let size = protobuf_c_message_get_packed_size(c)
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = size == 0 ? 0 : protobuf_c_message_pack(c, buffer.baseAddress)
            }
        }
    }

    /// Encodes `message` into temporary memory (on the stack when it fits) and lends the bytes to `body`:
    /// no array is made for a frame that is copied into an outbound buffer at once.
    static func withEncoded<Message: ProtobufCBridged>(
        _ message: Message,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 16) { scratch in
            let arena = CArena(scratch: scratch)
            defer { arena.release() }
            let c = cpc_message(try message.makeCMessage(in: arena))
            let size = protobuf_c_message_get_packed_size(c)
            return try withUnsafeTemporaryAllocation(byteCount: max(size, 1), alignment: 1) { bytes in
                let count = size == 0 ? 0 : protobuf_c_message_pack(c, bytes.baseAddress)
                return try body(UnsafeRawBufferPointer(rebasing: bytes[..<count]))
            }
        }
    }

    static func decode<Message: ProtobufCBridged>(
        _ type: Message.Type,
        from bytes: UnsafeRawBufferPointer
    ) throws -> Message {
        switch NULScanner.scan(bytes, descriptor: Message.cDescriptor) {
        case .nulInField(let field):
            throw WireError(code: .stringContainsNUL, message: "field \(field) of \(Message.self) contains a NUL character")
        case .tooDeep:
            throw WireError(code: .malformedMessage, message: "\(Message.self) nests messages deeper than \(NULScanner.maximumDepth) levels")
        case nil:
            break
        }
        let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // protobuf-c unpacks into scratch space on the stack (the heap only for what does not fit), instead of
        // one malloc per message, string and array; all of it is given back at once, so its frees do nothing.
        return try withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 16) { scratch in
            var memory = ScratchAllocator(scratch: scratch)
            defer { memory.release() }
            return try withUnsafeMutablePointer(to: &memory) { memory in
                var allocator = ProtobufCAllocator(
                    alloc: { data, size in
                        data!.assumingMemoryBound(to: ScratchAllocator.self).pointee.allocate(bytes: size)
                    },
                    free: { _, _ in },
                    allocator_data: UnsafeMutableRawPointer(memory)
                )
                guard let unpacked = protobuf_c_message_unpack(Message.cDescriptor, &allocator, bytes.count, data) else {
                    throw WireError(
                        code: .malformedMessage,
                        message: "\(bytes.count) bytes are not a valid \(Message.self) message"
                    )
                }
                return try UnsafeMutableRawPointer(unpacked).withMemoryRebound(to: Message.CStruct.self, capacity: 1) {
                    try Message(cMessage: $0)
                }
            }
        }
    }
}

/// Stack space lent to protobuf-c while encoding or decoding one message (the heap beyond it).
private let scratchBytes = 1024
