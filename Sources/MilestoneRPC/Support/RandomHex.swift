import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `bytes` random bytes from the operating system's cryptographic generator, as lowercase hex: tokens,
/// idempotency keys, ids, temporary names.
package func randomHex(bytes: Int) -> String {
    String(unsafeUninitializedCapacity: bytes * 2) { text in
        randomBytes.withLock { pool in
            for index in 0..<bytes {
                let byte = pool.next()
                text[2 * index] = hexDigit(byte >> 4)
                text[2 * index + 1] = hexDigit(byte & 0xF)
            }
        }
        return bytes * 2
    }
}

private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? 0x30 + nibble : 0x57 + nibble
}

/// The operating system's random bytes, fetched 256 at a time (`getentropy`'s most per call) instead of
/// 8 per system call (`SystemRandomNumberGenerator`): the client library draws an idempotency key on every
/// call of a non-idempotent method. Each byte is handed out once and cleared.
private let randomBytes = Mutex(RandomPool())

private struct RandomPool {
    private var bytes = [UInt8](repeating: 0, count: 256)
    private var used = 256

    mutating func next() -> UInt8 {
        if self.used == self.bytes.count {
            let result = self.bytes.withUnsafeMutableBytes { getentropy($0.baseAddress, $0.count) }
            precondition(result == 0, "the operating system's random generator failed (getentropy)")
            self.used = 0
        }
        defer {
            self.bytes[self.used] = 0
            self.used += 1
        }
        return self.bytes[self.used]
    }
}
