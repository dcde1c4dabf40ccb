internal import COpenSSL

/// The few primitives the services need, from OpenSSL's libcrypto; no OpenSSL type crosses this API.
public enum Crypto {
    /// `count` bytes from OpenSSL's CSPRNG.
    public static func randomBytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard ok == 1 else { throw CryptoError("RAND_bytes failed") }
        return bytes
    }

    /// HMAC-SHA256 of `data` under `key`: 32 bytes.
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBytes { key in
            data.withUnsafeBufferPointer { data in
                out.withUnsafeMutableBufferPointer { out in
                    milestone_hmac_sha256(key.baseAddress, Int32(key.count), data.baseAddress, data.count, out.baseAddress)
                }
            }
        }
        precondition(ok == 1, "HMAC-SHA256 cannot fail on valid buffers")
        return out
    }

    /// SHA-256 of `data`: 32 bytes.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = data.withUnsafeBufferPointer { data in
            out.withUnsafeMutableBufferPointer { out in milestone_sha256(data.baseAddress, data.count, out.baseAddress) }
        }
        precondition(ok == 1, "SHA-256 cannot fail on valid buffers")
        return out
    }

    /// Equality whose time depends only on the lengths (CRYPTO_memcmp).
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { lhs in
            rhs.withUnsafeBytes { rhs in CRYPTO_memcmp(lhs.baseAddress, rhs.baseAddress, lhs.count) == 0 }
        }
    }
}
