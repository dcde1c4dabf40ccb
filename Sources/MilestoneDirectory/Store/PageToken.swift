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
