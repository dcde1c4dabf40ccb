internal import CProtobufC

/// Finds a string field whose bytes hold a NUL character, before protobuf-c unpacks the message.
///
/// protobuf-c turns string fields into C strings, so `"Nul Org\0; hidden"` would silently arrive as
/// `"Nul Org"`: a name changed, a method name with junk after it matched, a token with junk after it
/// accepted. This walks the wire bytes with the message's descriptor (nested messages included) and names
/// the first such field, so that the decode fails instead. Malformed bytes are left to protobuf-c to refuse.
enum NULScanner {
    /// Nested messages deeper than this are not scanned but refused (no recursive type in our contract
    /// comes close).
    static let maximumDepth = 32

    enum Finding: Equatable {
        case nulInField(String)
        case tooDeep
    }

    static func scan(_ bytes: UnsafeRawBufferPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> Finding? {
        self.scan(bytes, descriptor: descriptor, depth: 0)
    }

    private static func scan(
        _ bytes: UnsafeRawBufferPointer,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        depth: Int
    ) -> Finding? {
        guard depth < self.maximumDepth else { return .tooDeep }
        var position = 0
        while position < bytes.count {
            guard let key = self.varint(bytes, &position) else { return nil }
            let number = key >> 3
            switch key & 7 {
            case 0:
                guard self.varint(bytes, &position) != nil else { return nil }
            case 1:
                position += 8
            case 5:
                position += 4
            case 2:
                guard let length = self.varint(bytes, &position), length <= UInt64(bytes.count - position) else { return nil }
                let start = position
                position += Int(length)
                guard number <= UInt64(UInt32.max),
                    let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(number))
                else { continue }
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    if slice.contains(0) {
                        return .nulInField(field.pointee.name.map { String(cString: $0) } ?? "#\(number)")
                    }
                case PROTOBUF_C_TYPE_MESSAGE:
                    if let nested = field.pointee.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self),
                        let finding = self.scan(slice, descriptor: nested, depth: depth + 1)
                    {
                        return finding
                    }
                default:
                    continue
                }
            default:
                return nil  // groups and invalid wire types: protobuf-c refuses them
            }
        }
        return nil
    }

    private static func varint(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count, shift < 64 {
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }
}
