internal import CProtobufC

/// Checks a message's wire bytes before protobuf-c unpacks them, walking them with the message's
/// descriptor (nested messages included):
///
/// - **NUL characters in string fields.** protobuf-c turns string fields into C strings, so
///   `"Nul Org\0; hidden"` would silently arrive as `"Nul Org"`: a name changed, a method name with junk
///   after it matched, a token with junk after it accepted. The first such field is named, so that the
///   decode fails instead.
/// - **How many entries repeated fields hold.** Two bytes on the wire (`22 00`: an empty entry) become a
///   pointer, a C struct and a Swift value once decoded — some 40 times their size; an unknown field is
///   kept by protobuf-c as a record and a copy. A message type may cap the entries of repeated fields and
///   unknown fields one message holds (the envelope does: ``RPCV1/Frame``); beyond the cap the bytes are
///   refused before anything is allocated. Every message may hold at most ``maximumUnknownFields`` unknown
///   fields.
/// - **Nesting depth**, refused beyond ``maximumDepth``.
///
/// Malformed bytes are left to protobuf-c to refuse.
enum WireScanner {
    /// Nested messages deeper than this are not scanned but refused (no recursive type in our contract
    /// comes close).
    static let maximumDepth = 32

    /// Fields one message may hold that its type does not define (a newer peer's additions): more are
    /// refused, whatever the type.
    static let maximumUnknownFields = 1_024

    enum Finding: Equatable {
        case nulInField(String)
        case tooDeep
        /// One message holds more than `limit` entries of repeated fields and unknown fields together.
        case tooManyEntries(field: String, limit: Int)
    }

    /// - Parameter maxRepeatedEntries: the most entries of repeated fields and unknown fields that any one
    ///   message in `bytes` may hold together.
    static func scan(
        _ bytes: UnsafeRawBufferPointer,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        maxRepeatedEntries: Int = .max
    ) -> Finding? {
        self.scan(bytes, descriptor: descriptor, maxRepeatedEntries: maxRepeatedEntries, depth: 0)
    }

    private static func scan(
        _ bytes: UnsafeRawBufferPointer,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        maxRepeatedEntries: Int,
        depth: Int
    ) -> Finding? {
        guard depth < self.maximumDepth else { return .tooDeep }
        var position = 0
        var repeatedEntries = 0
        var unknownFields = 0
        while position < bytes.count {
            guard let key = self.varint(bytes, &position) else { return nil }
            let number = key >> 3
            let field = Self.field(number, of: descriptor)
            // protobuf-c keeps each unknown field (a record and a copy of its bytes) and each entry of a
            // repeated field: both count against the type's cap, and unknown fields against their own.
            if field == nil || field?.pointee.label == PROTOBUF_C_LABEL_REPEATED {
                repeatedEntries += 1
                if repeatedEntries > maxRepeatedEntries {
                    let name = field.map { Self.name(of: $0, number: number) } ?? "unknown fields"
                    return .tooManyEntries(field: name, limit: maxRepeatedEntries)
                }
            }
            if field == nil {
                unknownFields += 1
                if unknownFields > self.maximumUnknownFields {
                    return .tooManyEntries(field: "unknown fields", limit: self.maximumUnknownFields)
                }
            }
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
                guard let field else { continue }
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    if slice.contains(0) {
                        return .nulInField(Self.name(of: field, number: number))
                    }
                case PROTOBUF_C_TYPE_MESSAGE:
                    if let nested = field.pointee.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self),
                        let finding = self.scan(slice, descriptor: nested, maxRepeatedEntries: maxRepeatedEntries, depth: depth + 1)
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

    /// The descriptor of field `number`, or nil when the type does not define it. Most of our types number
    /// their fields 1...n (protobuf-c sorts them by number): then it is an index, without a search.
    private static func field(
        _ number: UInt64,
        of descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> UnsafePointer<ProtobufCFieldDescriptor>? {
        let count = Int(descriptor.pointee.n_fields)
        if let fields = descriptor.pointee.fields, count > 0, fields[count - 1].id == UInt32(count) {
            return number >= 1 && number <= UInt64(count) ? fields + Int(number - 1) : nil
        }
        return number <= UInt64(UInt32.max) ? protobuf_c_message_descriptor_get_field(descriptor, UInt32(number)) : nil
    }

    private static func name(of field: UnsafePointer<ProtobufCFieldDescriptor>, number: UInt64) -> String {
        field.pointee.name.map { String(cString: $0) } ?? "#\(number)"
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
