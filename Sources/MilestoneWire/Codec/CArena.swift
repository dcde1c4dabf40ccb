internal import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for C structures that live as long as one encoding or decoding: taken first from scratch space
/// the caller lends (on its stack), then from the heap; everything is given back at once by ``release()``.
/// Used by ``CArena`` to build messages, and as protobuf-c's allocator when unpacking.
struct ScratchAllocator {
    private let scratch: UnsafeMutableRawBufferPointer?
    private var used = 0
    /// Allocations that did not fit the scratch space, freed by ``release()``.
    private var allocations: [UnsafeMutableRawPointer] = []
    private let heapLimit: Int
    private var heapBytes = 0
    /// An allocation was refused by ``allocateWithinLimit(bytes:)``.
    private(set) var exceededHeapLimit = false

    /// - Parameters:
    ///   - scratch: memory to allocate from before the heap (its lifetime must cover this one's use).
    ///   - heapLimit: the most bytes ``allocateWithinLimit(bytes:)`` takes from the heap in all, each
    ///     allocation charged with malloc's overhead.
    init(scratch: UnsafeMutableRawBufferPointer?, heapLimit: Int = .max) {
        self.scratch = scratch
        self.heapLimit = heapLimit
    }

    /// `bytes` bytes aligned to 16.
    mutating func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        guard let pointer = self.allocateWithinLimit(bytes: bytes) else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        return pointer
    }

    /// `bytes` bytes aligned to 16, or nil when the heap limit (or the heap) refuses them.
    mutating func allocateWithinLimit(bytes: Int) -> UnsafeMutableRawPointer? {
        let bytes = max(bytes, 1)
        if let scratch, let base = scratch.baseAddress {
            let start = (self.used + 15) & ~15
            if start + bytes <= scratch.count {
                self.used = start + bytes
                return base + start
            }
        }
        // Charged as the heap spends it: malloc's header, 16-byte granules, 32 bytes at least (a one-byte
        // string costs as much as that).
        let charge = max(32, (bytes + 8 + 15) & ~15)
        guard charge <= self.heapLimit - self.heapBytes, let pointer = malloc(bytes) else {
            self.exceededHeapLimit = true
            return nil
        }
        self.heapBytes += charge
        self.allocations.append(pointer)
        return pointer
    }

    mutating func release() {
        for pointer in self.allocations {
            free(pointer)
        }
        self.allocations.removeAll()
        self.used = 0
        self.heapBytes = 0
    }
}

/// Owns the C memory of one message being encoded: every allocation is freed by `release()`.
/// Also holds the conversions from C values to Swift values used when decoding.
final class CArena {
    /// Not checked for exclusive access at run time: an arena belongs to one encoding on one thread (it is
    /// not `Sendable`, and never escapes the `withEncoded` scope that makes it), and no method reaches the
    /// allocator while another of its accesses is in progress. The dynamic check cost about 0.5 µs per call
    /// (a thread-local lookup for every C string, array and message the envelope allocates).
    @exclusivity(unchecked) private var memory: ScratchAllocator

    /// - Parameter scratch: memory to allocate from before the heap (its lifetime must cover the arena's use).
    init(scratch: UnsafeMutableRawBufferPointer? = nil) {
        self.memory = ScratchAllocator(scratch: scratch)
    }

    func release() {
        self.memory.release()
    }

    private func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        self.memory.allocate(bytes: bytes)
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

    /// A NUL-terminated copy of `string` that is never protobuf-c's shared empty string: a oneof member
    /// set to "" is encoded only when its pointer differs from the field's default.
    func oneofString(_ string: String, field: StaticString) throws -> UnsafeMutablePointer<CChar>? {
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
        self.map(elements) { $0 }
    }

    /// A C array in the arena of `transform` applied to each element (no intermediate Swift array).
    func map<Element, T>(_ elements: [Element], _ transform: (Element) throws -> T) rethrows -> UnsafeMutablePointer<T>? {
        if elements.isEmpty {
            return nil
        }
        let raw = self.allocate(bytes: MemoryLayout<T>.stride * elements.count)
        let typed = raw.bindMemory(to: T.self, capacity: elements.count)
        for (index, element) in elements.enumerated() {
            (typed + index).initialize(to: try transform(element))
        }
        return typed
    }

    // MARK: Decoding

    /// The Swift array of `transform` applied to each of `count` C elements, allocated once.
    static func map<Element, T>(_ pointer: UnsafeMutablePointer<Element>?, count: Int, _ transform: (Element) throws -> T) rethrows -> [T] {
        guard count > 0, let pointer else { return [] }
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            result.append(try transform(pointer[index]))
        }
        return result
    }

    /// Like ``map(_:count:_:)``, skipping the elements `transform` maps to nil.
    static func compactMap<Element, T>(_ pointer: UnsafeMutablePointer<Element>?, count: Int, _ transform: (Element) throws -> T?) rethrows -> [T] {
        guard count > 0, let pointer else { return [] }
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            if let value = try transform(pointer[index]) {
                result.append(value)
            }
        }
        return result
    }

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
