import MilestoneCrypto
import Testing

@Suite("Crypto primitives (OpenSSL)", .timeLimit(.minutes(1)))
struct CryptoTests {
    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2")
    func hmac() {
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(self.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("SHA-256 of \"abc\"")
    func sha256() {
        #expect(self.hex(Crypto.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("random bytes differ; constant-time equality compares content and length")
    func randomAndEquality() throws {
        let first = try Crypto.randomBytes(32)
        let second = try Crypto.randomBytes(32)
        #expect(first.count == 32 && first != second)
        #expect(Crypto.constantTimeEqual(first, first))
        #expect(!Crypto.constantTimeEqual(first, second))
        #expect(!Crypto.constantTimeEqual(first, Array(first.prefix(31))))
    }
}

@Suite("Sealed secrets (AES-256-GCM)", .timeLimit(.minutes(1)))
struct SecretBoxTests {
    let key = Array(repeating: UInt8(42), count: 32)

    @Test("a sealed secret opens with its key and row, and its bytes never hold the secret")
    func roundTrip() throws {
        let box = try SecretBox(key: self.key)
        let secret = Array("s3cr3t-value-~with.dots".utf8)
        let sealed = try box.seal(secret, associatedData: Array("org_a".utf8))
        #expect(try box.open(sealed, associatedData: Array("org_a".utf8)) == secret)
        #expect(!sealed.bytes.windows(ofCount: secret.count).contains { Array($0) == secret })
        let again = try box.seal(secret, associatedData: Array("org_a".utf8))
        #expect(again.bytes != sealed.bytes, "a fresh nonce per seal")
    }

    @Test("combined bytes of any shape make a sealed value or nil, never a trap", arguments: [
        [], [0], [0, 1], [0, 1, 2, 3], [1], [1, 65], [1, 65, 66], [3, 65, 66], [255] + Array(repeating: 7, count: 300),
    ] as [[UInt8]])
    func combinedOfAnyShape(bytes: [UInt8]) {
        let sealed = SecretBox.Sealed(combined: bytes)
        if let length = bytes.first, bytes.count > 1 + Int(length) {
            #expect(sealed?.keyID.utf8.count == Int(length))
            #expect(sealed?.bytes == Array(bytes[(1 + Int(length))...]))
            #expect(sealed?.combined == bytes)
        } else {
            #expect(sealed == nil)
        }
    }

    @Test("another row, another key, or an altered byte: refused")
    func refusals() throws {
        let box = try SecretBox(key: self.key)
        let sealed = try box.seal(Array("secret".utf8), associatedData: Array("org_a".utf8))
        #expect(throws: CryptoError.self) { try box.open(sealed, associatedData: Array("org_b".utf8)) }
        let other = try SecretBox(key: Array(repeating: UInt8(7), count: 32))
        #expect(throws: CryptoError.self) { try other.open(sealed, associatedData: Array("org_a".utf8)) }
        let sameIDOtherKey = try SecretBox(key: Array(repeating: UInt8(7), count: 32), keyID: box.keyID)
        #expect(throws: CryptoError.self) { try sameIDOtherKey.open(sealed, associatedData: Array("org_a".utf8)) }
        var altered = sealed
        altered.bytes[14] ^= 1
        #expect(throws: CryptoError.self) { try box.open(altered, associatedData: Array("org_a".utf8)) }
        #expect(throws: CryptoError.self) { try SecretBox(key: [1, 2, 3]) }
    }
}

extension Array {
    fileprivate func windows(ofCount count: Int) -> [ArraySlice<Element>] {
        guard count <= self.count else { return [] }
        return (0...(self.count - count)).map { self[$0..<($0 + count)] }
    }
}
