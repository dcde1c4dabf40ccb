/// Opaque, prefixed ids: "org_" or "ten_" and 20 characters of lowercase base32 (100 random bits).
enum DirectoryIDs {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var characters = Array(prefix.utf8)
        var bits = generator.next() as UInt64
        var extra = generator.next() as UInt64
        for index in 0..<20 {
            if index == 12 { bits = extra; extra = 0 }
            characters.append(alphabet[Int(bits & 31)])
            bits >>= 5
        }
        return String(decoding: characters, as: UTF8.self)
    }

    static func organization() -> String { make(prefix: "org_") }
    static func tenant() -> String { make(prefix: "ten_") }
}
