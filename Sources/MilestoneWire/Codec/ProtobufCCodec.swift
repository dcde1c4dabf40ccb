internal import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        // protobuf-c unpacks into scratch space on the stack through a bump allocator (the heap only for
        // what does not fit), instead of one malloc per message, string and array.
        return try withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 16) { scratch in
            var bump = BumpAllocation(base: scratch.baseAddress!, capacity: scratch.count)
            return try withUnsafeMutablePointer(to: &bump) { bump in
                var allocator = ProtobufCAllocator(
                    alloc: { data, size in
                        data!.assumingMemoryBound(to: BumpAllocation.self).pointee.allocate(size)
                    },
                    free: { data, pointer in
                        data!.assumingMemoryBound(to: BumpAllocation.self).pointee.deallocate(pointer)
                    },
                    allocator_data: UnsafeMutableRawPointer(bump)
                )
                guard let unpacked = protobuf_c_message_unpack(Message.cDescriptor, &allocator, bytes.count, data) else {
                    throw WireError(
                        code: .malformedMessage,
                        message: "\(bytes.count) bytes are not a valid \(Message.self) message"
                    )
                }
                defer { protobuf_c_message_free_unpacked(unpacked, &allocator) }
                return try UnsafeMutableRawPointer(unpacked).withMemoryRebound(to: Message.CStruct.self, capacity: 1) {
                    try Message(cMessage: $0)
                }
            }
        }
    }
}

/// Stack space lent to protobuf-c while encoding or decoding one message (the heap beyond it).
private let scratchBytes = 1024

/// A bump allocator over scratch space, falling back to malloc; frees only what malloc gave.
private struct BumpAllocation {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    var used = 0

    init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    mutating func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let start = (self.used + 15) & ~15
        if start + size <= self.capacity {
            self.used = start + size
            return self.base + start
        }
        return malloc(max(size, 1))
    }

    func deallocate(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        if pointer >= self.base && pointer < self.base + self.capacity { return }
        free(pointer)
    }
}
