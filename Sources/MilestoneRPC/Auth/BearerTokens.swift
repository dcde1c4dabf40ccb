/// The bearer tokens a server accepts, each with its role. Comparison is in constant time.
public struct BearerTokens: Sendable {
    private let tokens: [(token: [UInt8], role: Role)]

    /// - Parameter tokens: each token with the role it grants. Empty tokens are ignored.
    public init(_ tokens: [(token: String, role: Role)]) {
        self.tokens = tokens.filter { !$0.token.isEmpty }.map { (Array($0.token.utf8), $0.role) }
    }

    public init(admin: String?, service: String?) {
        var tokens: [(token: String, role: Role)] = []
        if let admin { tokens.append((admin, .admin)) }
        if let service { tokens.append((service, .service)) }
        self.init(tokens)
    }

    public var isEmpty: Bool { self.tokens.isEmpty }

    /// The role of `presented`, or nil. Every configured token is compared, each in constant time, so the
    /// time taken does not tell which bytes matched.
    public func role(of presented: String) -> Role? {
        self.role(of: Substring(presented))
    }

    /// The role of `presented`, compared in place (no copy of the token).
    public func role(of presented: Substring) -> Role? {
        var presented = presented
        return presented.withUTF8 { bytes in
            var found: Role?
            for candidate in self.tokens where candidate.token.withUnsafeBufferPointer({ Self.constantTimeEquals($0, bytes) }) {
                found = candidate.role
            }
            return found
        }
    }

    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        lhs.withUnsafeBufferPointer { lhs in rhs.withUnsafeBufferPointer { rhs in Self.constantTimeEquals(lhs, rhs) } }
    }

    static func constantTimeEquals(_ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        difference |= UInt8(truncatingIfNeeded: (lhs.count ^ rhs.count) >> 8)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0 && lhs.count == rhs.count
    }
}
