internal import COpenSSL

/// Seals secrets at rest with AES-256-GCM (OpenSSL) under a 32-byte master key: a random 96-bit nonce per
/// seal, the key's id stored beside the ciphertext (so the key can be rotated), and associated data that
/// binds a ciphertext to the row it belongs to (a ciphertext copied to another row does not open).
public struct SecretBox: Sendable {
    /// A sealed secret as stored: `keyID` · nonce (12 bytes) · ciphertext · tag (16 bytes).
    public struct Sealed: Hashable, Sendable {
        public var keyID: String
        public var bytes: [UInt8]

        public init(keyID: String, bytes: [UInt8]) {
            self.keyID = keyID
            self.bytes = bytes
        }

        /// One byte string holding both (the key id's length, the key id, the bytes): for a sealed value
        /// kept in one field, such as a page token.
        public var combined: [UInt8] {
            let keyID = Array(self.keyID.utf8.prefix(255))
            return [UInt8(keyID.count)] + keyID + self.bytes
        }

        /// The sealed value of ``combined`` bytes, or nil when they cannot be one.
        public init?(combined: [UInt8]) {
            guard let length = combined.first, combined.count > 1 + Int(length) else { return nil }
            // A half-open range: a key id of length 0 (a hostile page token starting with a zero byte) is
            // an empty id, not a range that traps.
            self.keyID = String(decoding: combined[1..<(1 + Int(length))], as: UTF8.self)
            self.bytes = Array(combined[(1 + Int(length))...])
        }
    }

    public let keyID: String
    private let key: [UInt8]

    /// - Parameters:
    ///   - key: 32 bytes.
    ///   - keyID: names the key in what it seals (a short fingerprint of it by default).
    public init(key: [UInt8], keyID: String? = nil) throws {
        guard key.count == 32 else {
            throw CryptoError("the master key must be 32 bytes (got \(key.count))")
        }
        self.key = key
        self.keyID = keyID ?? Self.fingerprint(of: key)
    }

    /// The first 8 bytes of SHA-256 of "milestone key id" and the key, in hex: identifies, does not reveal.
    public static func fingerprint(of key: [UInt8]) -> String {
        Crypto.sha256(Array("milestone key id".utf8) + key).prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws -> Sealed {
        let nonce = try Crypto.randomBytes(12)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let ok = self.key.withUnsafeBufferPointer { key in
            nonce.withUnsafeBufferPointer { nonce in
                associatedData.withUnsafeBufferPointer { aad in
                    plaintext.withUnsafeBufferPointer { plaintext in
                        ciphertext.withUnsafeMutableBufferPointer { ciphertext in
                            tag.withUnsafeMutableBufferPointer { tag in
                                milestone_aes256gcm_seal(
                                    key.baseAddress, nonce.baseAddress, aad.baseAddress, Int32(aad.count),
                                    plaintext.baseAddress, Int32(plaintext.count), ciphertext.baseAddress, tag.baseAddress
                                )
                            }
                        }
                    }
                }
            }
        }
        guard ok == 1 else { throw CryptoError("AES-256-GCM sealing failed") }
        return Sealed(keyID: self.keyID, bytes: nonce + ciphertext + tag)
    }

    /// The plaintext of `sealed`.
    ///
    /// - Throws: ``CryptoError`` when it was sealed under another key, belongs to other associated data
    ///   (another row), or was altered. The message never holds the secret.
    public func open(_ sealed: Sealed, associatedData: [UInt8]) throws -> [UInt8] {
        guard sealed.keyID == self.keyID else {
            throw CryptoError("the secret was sealed with master key \(sealed.keyID), not the configured key \(self.keyID)")
        }
        guard sealed.bytes.count >= 28 else { throw CryptoError("the sealed secret is truncated") }
        let nonce = Array(sealed.bytes.prefix(12))
        let tag = Array(sealed.bytes.suffix(16))
        let ciphertext = Array(sealed.bytes[12..<(sealed.bytes.count - 16)])
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
        let ok = self.key.withUnsafeBufferPointer { key in
            nonce.withUnsafeBufferPointer { nonce in
                associatedData.withUnsafeBufferPointer { aad in
                    ciphertext.withUnsafeBufferPointer { ciphertext in
                        tag.withUnsafeBufferPointer { tag in
                            plaintext.withUnsafeMutableBufferPointer { plaintext in
                                milestone_aes256gcm_open(
                                    key.baseAddress, nonce.baseAddress, aad.baseAddress, Int32(aad.count),
                                    ciphertext.baseAddress, Int32(ciphertext.count), tag.baseAddress, plaintext.baseAddress
                                )
                            }
                        }
                    }
                }
            }
        }
        guard ok == 1 else {
            throw CryptoError("the sealed secret does not open: altered, or moved from another configuration")
        }
        return plaintext
    }
}
