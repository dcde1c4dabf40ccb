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
