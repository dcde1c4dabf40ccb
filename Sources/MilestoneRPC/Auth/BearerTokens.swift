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
        let bytes = Array(presented.utf8)
        var found: Role?
        for candidate in self.tokens where Self.constantTimeEquals(candidate.token, bytes) {
            found = candidate.role
        }
        return found
    }

    /// Equality whose time depends only on the lengths, not on where the bytes differ.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
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
