internal import CProtobufC

/// Encodes and decodes generated messages with libprotobuf-c.
enum ProtobufCCodec {
    static func encode<Message: ProtobufCBridged>(_ message: Message) throws -> [UInt8] {
        let arena = CArena()
        defer { arena.release() }
        let c = cpc_message(try message.makeCMessage(in: arena))
        let size = protobuf_c_message_get_packed_size(c)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = size == 0 ? 0 : protobuf_c_message_pack(c, buffer.baseAddress)
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
        guard let unpacked = protobuf_c_message_unpack(Message.cDescriptor, nil, bytes.count, data) else {
            throw WireError(
                code: .malformedMessage,
                message: "\(bytes.count) bytes are not a valid \(Message.self) message"
            )
        }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        return try UnsafeMutableRawPointer(unpacked).withMemoryRebound(to: Message.CStruct.self, capacity: 1) {
            try Message(cMessage: $0)
        }
    }
}
