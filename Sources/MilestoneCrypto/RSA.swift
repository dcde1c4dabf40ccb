internal import COpenSSL

/// An RSA public key (from a JWK's `n` and `e`), for verifying RS256 signatures. No OpenSSL type crosses
/// this API.
public final class RSAPublicKey: @unchecked Sendable {
    // EVP_PKEY is safe to use for verification from several threads at once once built.
    private let key: OpaquePointer

    /// The key with modulus `modulus` and exponent `exponent` (big-endian bytes). Keys under 2048 bits are
    /// refused: they are not safe to trust for signatures.
    public init(modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) {
        guard !modulus.isEmpty, !exponent.isEmpty, modulus.count <= 2048, exponent.count <= 8 else {
            throw CryptoError("an RSA key needs a modulus (at most 16384 bits) and a short exponent")
        }
        let key = modulus.withUnsafeBufferPointer { n in
            exponent.withUnsafeBufferPointer { e in milestone_rsa_public_key(n.baseAddress, n.count, e.baseAddress, e.count) }
        }
        guard let key else { throw CryptoError("OpenSSL refused the RSA key") }
        guard milestone_key_bits(key) >= 2048 else {
            EVP_PKEY_free(key)
            throw CryptoError("RSA keys under 2048 bits are refused")
        }
        self.key = key
    }

    deinit {
        EVP_PKEY_free(self.key)
    }

    /// True when `signature` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `message` by this key.
    public func verifySHA256(signature: [UInt8], message: [UInt8]) -> Bool {
        message.withUnsafeBufferPointer { message in
            signature.withUnsafeBufferPointer { signature in
                milestone_rsa_verify_sha256(self.key, message.baseAddress, message.count, signature.baseAddress, signature.count) == 1
            }
        }
    }
}

/// An RSA private key, for the development identity provider's RS256 signatures (a production service only
/// verifies). No OpenSSL type crosses this API.
public final class RSAPrivateKey: @unchecked Sendable {
    private let key: OpaquePointer

    /// A new key of `bits` bits (default 2048).
    public init(bits: Int = 2048) throws(CryptoError) {
        guard let key = milestone_rsa_generate(Int32(bits)) else { throw CryptoError("RSA key generation failed") }
        self.key = key
    }

    /// The key from PEM (PKCS#1 or PKCS#8).
    public init(pem: String) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        let key = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { milestone_private_key_from_pem($0.baseAddress, Int32($0.count)) }
        }
        guard let key else { throw CryptoError("the PEM text holds no private key OpenSSL can read") }
        guard milestone_key_is_rsa(key) == 1, milestone_key_bits(key) >= 2048 else {
            EVP_PKEY_free(key)
            throw CryptoError("the key is not an RSA key of at least 2048 bits")
        }
        self.key = key
    }

    deinit {
        EVP_PKEY_free(self.key)
    }

    /// PKCS#8 PEM: keep it private (mode 0600).
    public func pem() throws(CryptoError) -> String {
        let length = milestone_private_key_to_pem(self.key, nil, 0)
        guard length > 0 else { throw CryptoError("the key cannot be written as PEM") }
        var out = [CChar](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { milestone_private_key_to_pem(self.key, $0.baseAddress, length) }
        guard written == length else { throw CryptoError("the key cannot be written as PEM") }
        return String(decoding: out.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The public modulus `n` and exponent `e`, big-endian (a JWK's `n` and `e` before base64url).
    public func publicComponents() throws(CryptoError) -> (modulus: [UInt8], exponent: [UInt8]) {
        func component(_ name: String) throws(CryptoError) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 2048)
            let length = out.withUnsafeMutableBufferPointer { milestone_rsa_component(self.key, name, $0.baseAddress, Int32($0.count)) }
            guard length > 0 else { throw CryptoError("the RSA key's \(name) cannot be read") }
            return Array(out[..<Int(length)])
        }
        return (try component("n"), try component("e"))
    }

    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    public func signSHA256(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 2048)
        let length = message.withUnsafeBufferPointer { message in
            out.withUnsafeMutableBufferPointer { milestone_rsa_sign_sha256(self.key, message.baseAddress, message.count, $0.baseAddress, $0.count) }
        }
        guard length > 0 else { throw CryptoError("RSA signing failed") }
        return Array(out[..<Int(length)])
    }
}

extension RSAPrivateKey: CustomStringConvertible {
    public var description: String { "RSAPrivateKey(<redacted>)" }
}
