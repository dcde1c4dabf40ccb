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
        switch WireScanner.scan(bytes, descriptor: Message.cDescriptor, maxRepeatedEntries: Message.maxRepeatedEntries) {
        case .nulInField(let field):
            throw WireError(code: .stringContainsNUL, message: "field \(field) of \(Message.self) contains a NUL character")
        case .tooDeep:
            throw WireError(code: .malformedMessage, message: "\(Message.self) nests messages deeper than \(WireScanner.maximumDepth) levels")
        case .tooManyEntries(let field, let limit):
            throw WireError(
                code: .malformedMessage,
                message: "\(Message.self) holds more than \(limit) entries of repeated or unknown fields (\(field))"
            )
        case nil:
            break
        }
        let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // protobuf-c unpacks into scratch space on the stack (the heap only for what does not fit), instead of
        // one malloc per message, string and array; all of it is given back at once, so its frees do nothing.
        // What it may take from the heap is bounded by the input's size (``decodingHeapLimit(for:)``).
        return try withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 16) { scratch in
            var memory = ScratchAllocator(scratch: scratch, heapLimit: decodingHeapLimit(for: bytes.count))
            defer { memory.release() }
            return try withUnsafeMutablePointer(to: &memory) { memory in
                var allocator = ProtobufCAllocator(
                    alloc: { data, size in
                        data!.assumingMemoryBound(to: ScratchAllocator.self).pointee.allocateWithinLimit(bytes: size)
                    },
                    free: { _, _ in },
                    allocator_data: UnsafeMutableRawPointer(memory)
                )
                guard let unpacked = protobuf_c_message_unpack(Message.cDescriptor, &allocator, bytes.count, data) else {
                    if memory.pointee.exceededHeapLimit {
                        throw WireError(
                            code: .malformedMessage,
                            message: "\(bytes.count) bytes of \(Message.self) would take more than \(decodingHeapLimit(for: bytes.count)) bytes once decoded"
                        )
                    }
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

/// The most heap memory protobuf-c may take to unpack `count` bytes: 16 times their size, and 256 KiB (each
/// allocation charged as malloc spends it: 32 bytes at least).
/// Real messages need about their own size (strings are copied, each with a pointer); a message made of
/// empty entries of repeated fields needs 40-100 times its size, and is refused instead once it is larger
/// than about 16 KiB (its C structures and then Swift values would hold a peer's 4 MiB frame as hundreds
/// of MiB).
func decodingHeapLimit(for count: Int) -> Int {
    16 * count + 256 * 1024
}

/// Stack space lent to protobuf-c while encoding or decoding one message (the heap beyond it).
private let scratchBytes = 1024
