/// Records packed back to back in one growing byte buffer and found by key: a compact in-memory table for
/// hot-path caches of many small records (ResolveTenant's cache, the identity service's tenant map), about
/// a tenth of the memory of the same records as Swift strings in a dictionary.

/// Packed records found by their key (a record's first field): an open-addressing table with linear
/// probing whose slots hold offsets into ``PackedRecords`` (0 = empty, else offset + 1), at most 70 % full.
/// Keys are hashed with Swift's per-process random seed.
package struct PackedTable {
    private var records = PackedRecords()
    private var slots: [UInt32] = []
    package private(set) var count = 0

    package init() {}

    /// The record whose key is `key`, unpacked (the reader starts after the key).
    package func find<T>(_ key: String, _ unpack: (inout PackedReader) -> T) -> T? {
        guard !self.slots.isEmpty else { return nil }
        var key = key
        return key.withUTF8 { key -> T? in
            guard let offset = self.offset(of: UnsafeRawBufferPointer(key)) else { return nil }
            return self.records.read(at: offset) { reader in
                _ = reader.skipString()
                return unpack(&reader)
            }
        }
    }

    /// Adds a record under `key` (which `pack` must not write: the table writes it first) unless the key
    /// is there already; false when the record does not fit the packed format.
    package mutating func insert(_ key: String, _ pack: (inout PackedWriter) -> Void) -> Bool {
        var key = key
        return key.withUTF8 { keyBytes -> Bool in
            let key = UnsafeRawBufferPointer(keyBytes)
            if !self.slots.isEmpty, self.offset(of: key) != nil { return true }
            guard let offset = self.records.append({ writer in
                writer.bytes(key)
                pack(&writer)
            }) else { return false }
            if (self.count + 1) * 10 > self.slots.count * 7 {
                self.grow()
            }
            self.place(offset, hash: Self.hash(key))
            self.count += 1
            return true
        }
    }

    private func offset(of key: UnsafeRawBufferPointer) -> UInt32? {
        let mask = self.slots.count - 1
        var index = Self.hash(key) & mask
        while true {
            let slot = self.slots[index]
            if slot == 0 { return nil }
            if self.records.key(at: slot - 1, equals: key) { return slot - 1 }
            index = (index + 1) & mask
        }
    }

    private mutating func place(_ offset: UInt32, hash: Int) {
        let mask = self.slots.count - 1
        var index = hash & mask
        while self.slots[index] != 0 {
            index = (index + 1) & mask
        }
        self.slots[index] = offset + 1
    }

    private mutating func grow() {
        let old = self.slots
        self.slots = Array(repeating: 0, count: max(old.count * 2, 64))
        for slot in old where slot != 0 {
            let hash = self.records.withKey(at: slot - 1) { Self.hash($0) }
            self.place(slot - 1, hash: hash)
        }
    }

    private static func hash(_ key: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: key)
        return hasher.finalize()
    }
}

/// Records packed back to back in one growing buffer, addressed by offset. A string is a 2-byte length
/// and its UTF-8; an integer its width in bytes; both little-endian.
struct PackedRecords {
    private(set) var bytes: [UInt8] = []

    init() {}

    /// Appends one record; its offset, or nil when it does not fit the format (a string over 65,535
    /// bytes, or more than 4 GiB in all): such a record is simply not cached.
    mutating func append(_ pack: (inout PackedWriter) -> Void) -> UInt32? {
        let offset = self.bytes.count
        var writer = PackedWriter(bytes: self.bytes)
        self.bytes = []
        pack(&writer)
        self.bytes = writer.bytes
        guard writer.fits, self.bytes.count <= Int(UInt32.max) else {
            self.bytes.removeSubrange(offset...)
            return nil
        }
        return UInt32(offset)
    }

    func read<T>(at offset: UInt32, _ unpack: (inout PackedReader) -> T) -> T {
        self.bytes.withUnsafeBytes { buffer in
            var reader = PackedReader(buffer: buffer, offset: Int(offset))
            return unpack(&reader)
        }
    }

    /// Calls `body` with the bytes of the record's first string (its key).
    func withKey<T>(at offset: UInt32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        self.read(at: offset) { reader in body(reader.skipString()) }
    }

    func key(at offset: UInt32, equals key: UnsafeRawBufferPointer) -> Bool {
        self.withKey(at: offset) { $0.elementsEqual(key) }
    }
}

package struct PackedWriter {
    var bytes: [UInt8]
    /// False once a value did not fit the format.
    private(set) var fits = true

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    package mutating func string(_ value: String) {
        let utf8 = value.utf8
        guard utf8.count <= Int(UInt16.max) else {
            self.fits = false
            return
        }
        self.integer(UInt16(utf8.count))
        self.bytes.append(contentsOf: utf8)
    }

    /// A string's UTF-8 as given.
    mutating func bytes(_ utf8: UnsafeRawBufferPointer) {
        guard utf8.count <= Int(UInt16.max) else {
            self.fits = false
            return
        }
        self.integer(UInt16(utf8.count))
        self.bytes.append(contentsOf: utf8)
    }

    package mutating func optionalString(_ value: String?) {
        self.bytes.append(value == nil ? 0 : 1)
        if let value { self.string(value) }
    }

    package mutating func integer<I: FixedWidthInteger>(_ value: I) {
        withUnsafeBytes(of: value.littleEndian) { self.bytes.append(contentsOf: $0) }
    }
}

package struct PackedReader {
    let buffer: UnsafeRawBufferPointer
    var offset: Int

    init(buffer: UnsafeRawBufferPointer, offset: Int) {
        self.buffer = buffer
        self.offset = offset
    }

    package mutating func string() -> String {
        let count = Int(self.integer(UInt16.self))
        defer { self.offset += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: self.buffer[self.offset..<self.offset + count]), as: UTF8.self)
    }

    /// Steps over a string; its UTF-8 bytes.
    mutating func skipString() -> UnsafeRawBufferPointer {
        let count = Int(self.integer(UInt16.self))
        defer { self.offset += count }
        return UnsafeRawBufferPointer(rebasing: self.buffer[self.offset..<self.offset + count])
    }

    package mutating func optionalString() -> String? {
        let present = self.buffer[self.offset] != 0
        self.offset += 1
        return present ? self.string() : nil
    }

    package mutating func integer<I: FixedWidthInteger>(_ type: I.Type) -> I {
        defer { self.offset += MemoryLayout<I>.size }
        return I(littleEndian: self.buffer.loadUnaligned(fromByteOffset: self.offset, as: I.self))
    }
}
