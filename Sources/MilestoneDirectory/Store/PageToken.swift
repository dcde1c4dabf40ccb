import MilestoneCrypto

/// The opaque page token of List calls: where the previous page ended, signed so that a token the service
/// did not issue (hand-made, truncated, edited, or from another database) is refused.
///
/// Format: base64url of `1` (version) · sort-key length (2 bytes) · sort key · id · the first 16 bytes of
/// HMAC-SHA256 over everything before it, under the database's own page-token key.
struct PageToken: Hashable, Sendable {
    var sortKey: String
    var id: String

    init(sortKey: String, id: String) {
        self.sortKey = sortKey
        self.id = id
    }

    private static let version: UInt8 = 1
    private static let macLength = 16

    /// The token, signed with `key`.
    func encoded(key: [UInt8]) -> String {
        let sortKey = Array(self.sortKey.utf8)
        var bytes: [UInt8] = [Self.version, UInt8(truncatingIfNeeded: sortKey.count >> 8), UInt8(truncatingIfNeeded: sortKey.count)]
        bytes += sortKey
        bytes += Array(self.id.utf8)
        bytes += Crypto.hmacSHA256(key: key, data: bytes).prefix(Self.macLength)
        return Base64URL.encode(bytes)
    }

    /// Decodes a token; throws INVALID_ARGUMENT for anything this database did not issue.
    init(decoding token: String, key: [UInt8]) throws(DirectoryError) {
        let invalid = DirectoryError.invalid("page_token", "is not a token from a previous response of this service")
        guard token.utf8.count <= 4096, let bytes = Base64URL.decode(token), bytes.count > 3 + Self.macLength else {
            throw invalid
        }
        let body = Array(bytes.dropLast(Self.macLength))
        let mac = Array(bytes.suffix(Self.macLength))
        guard Crypto.constantTimeEqual(mac, Array(Crypto.hmacSHA256(key: key, data: body).prefix(Self.macLength))),
            body[0] == Self.version
        else {
            throw invalid
        }
        let sortKeyLength = Int(body[1]) << 8 | Int(body[2])
        guard body.count > 3 + sortKeyLength,
            let sortKey = String(validating: body[3..<(3 + sortKeyLength)], as: UTF8.self),
            let id = String(validating: body[(3 + sortKeyLength)...], as: UTF8.self)
        else {
            throw invalid
        }
        self.sortKey = sortKey
        self.id = id
    }
}

/// RFC 4648 §5 base64url without padding.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for (offset, byte) in chunk.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
            for position in 0...chunk.count {
                out.append(Self.alphabet[(value >> (18 - 6 * position)) & 0x3F])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var value = 0
        var bits = 0
        for character in text.utf8 {
            let digit: Int
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = Int(character - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = Int(character - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(character - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): digit = 62
            case UInt8(ascii: "_"): digit = 63
            default: return nil
            }
            value = (value << 6) | digit
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: value >> bits))
                value &= (1 << bits) - 1
            }
        }
        // Leftover bits must be zero padding of fewer than 6 bits.
        guard bits < 6, value == 0 else { return nil }
        return out
    }
}
