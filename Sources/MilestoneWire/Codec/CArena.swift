internal import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns the C memory of one message being encoded: every allocation is freed by `release()`.
/// Also holds the conversions from C values to Swift values used when decoding.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    init() {
        self.allocations.reserveCapacity(8)
    }

    func release() {
        for pointer in self.allocations {
            free(pointer)
        }
        self.allocations.removeAll()
    }

    private func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        guard let pointer = malloc(max(bytes, 1)) else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        self.allocations.append(pointer)
        return pointer
    }

    /// A protobuf-c message struct initialised by its descriptor.
    func message<T>(_ type: T.Type, descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> UnsafeMutablePointer<T> {
        let size = descriptor.pointee.sizeof_message
        let raw = self.allocate(bytes: size)
        protobuf_c_message_init(descriptor, raw)
        return raw.bindMemory(to: T.self, capacity: 1)
    }

    /// A NUL-terminated copy of `string`.
    func string(_ string: String, field: StaticString) throws -> UnsafeMutablePointer<CChar>? {
        if string.isEmpty {
            return cpc_empty_string()
        }
        var copy = string
        return try copy.withUTF8 { try self.cString($0, field: field) }
    }

    private func cString(_ bytes: UnsafeBufferPointer<UInt8>, field: StaticString) throws -> UnsafeMutablePointer<CChar> {
        if bytes.contains(0) {
            throw WireError(code: .stringContainsNUL, message: "field \(field) holds a NUL character")
        }
        let raw = self.allocate(bytes: bytes.count + 1)
        if let base = bytes.baseAddress {
            raw.copyMemory(from: base, byteCount: bytes.count)
        }
        raw.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        return raw.bindMemory(to: CChar.self, capacity: bytes.count + 1)
    }

    /// A copy of `bytes` as protobuf-c binary data.
    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        if bytes.isEmpty {
            return ProtobufCBinaryData(len: 0, data: nil)
        }
        let raw = self.allocate(bytes: bytes.count)
        bytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: raw.assumingMemoryBound(to: UInt8.self))
    }

    /// A C array holding `elements`, or nil when empty.
    func array<T>(_ elements: [T]) -> UnsafeMutablePointer<T>? {
        if elements.isEmpty {
            return nil
        }
        let raw = self.allocate(bytes: MemoryLayout<T>.stride * elements.count)
        let typed = raw.bindMemory(to: T.self, capacity: elements.count)
        _ = UnsafeMutableBufferPointer(start: typed, count: elements.count).initialize(from: elements)
        return typed
    }

    // MARK: Decoding

    /// The Swift string of a C string, refusing bytes that are not UTF-8.
    static func string(_ pointer: UnsafeMutablePointer<CChar>?, field: StaticString) throws -> String {
        guard let pointer else { return "" }
        guard let string = String(validatingCString: pointer) else {
            throw WireError(code: .invalidUTF8, message: "field \(field) is not valid UTF-8")
        }
        return string
    }

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    static func array<T>(_ pointer: UnsafeMutablePointer<T>?, count: Int) -> [T] {
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}
