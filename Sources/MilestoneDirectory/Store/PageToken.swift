/// The opaque page token of List calls: where the previous page ended, hex-encoded.
/// Format (before encoding): "v1" NUL sort-key NUL id.
struct PageToken: Hashable, Sendable {
    var sortKey: String
    var id: String

    var encoded: String {
        let bytes = Array("v1\u{0}\(self.sortKey)\u{0}\(self.id)".utf8)
        return bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// Decodes a token; throws INVALID_ARGUMENT for anything this service did not issue.
    init(decoding token: String) throws(DirectoryError) {
        let invalid = DirectoryError.invalid("page_token", "is not a token from a previous response")
        let hex = Array(token.utf8)
        guard hex.count % 2 == 0, hex.count <= 2048 else { throw invalid }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var index = 0
        while index < hex.count {
            guard let high = Self.nibble(hex[index]), let low = Self.nibble(hex[index + 1]) else { throw invalid }
            bytes.append(high << 4 | low)
            index += 2
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw invalid }
        let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", !parts[2].isEmpty else { throw invalid }
        self.sortKey = String(parts[1])
        self.id = String(parts[2])
    }

    init(sortKey: String, id: String) {
        self.sortKey = sortKey
        self.id = id
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
