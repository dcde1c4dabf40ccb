internal import CProtobufC

/// A generated message type that converts to and from its protobuf-c struct.
/// Internal: C types never leave the wire layer.
protocol ProtobufCBridged: WireMessage {
    associatedtype CStruct

    /// The address of the protobuf-c descriptor of `CStruct`.
    static var cDescriptor: UnsafePointer<ProtobufCMessageDescriptor> { get }

    /// Reads a struct unpacked by protobuf-c.
    init(cMessage: UnsafePointer<CStruct>) throws

    /// Writes this value into an initialised struct, allocating strings, bytes and sub-messages in `arena`.
    func fill(_ c: UnsafeMutablePointer<CStruct>, in arena: CArena) throws

    /// See the default in the extension below.
    static var maxRepeatedEntries: Int { get }
}

extension ProtobufCBridged {
    /// The most entries of repeated fields and unknown fields one message of this type (or nested in it)
    /// may hold on the wire; more are refused before decoding. No cap by default: the heap limit of
    /// decoding (16 times the input's size) bounds what a message can take.
    static var maxRepeatedEntries: Int { .max }

    /// An initialised struct holding this value, owned by `arena`.
    func makeCMessage(in arena: CArena) throws -> UnsafeMutablePointer<CStruct> {
        let message = arena.message(CStruct.self, descriptor: Self.cDescriptor)
        try self.fill(message, in: arena)
        return message
    }
}
