/// Key-value pairs sent with a call or its response. Keys are lowercase; a key may repeat.
///
/// Well-known keys: `authorization` (`Bearer TOKEN`), `x-request-id` and `idempotency-key`.
public struct Metadata: Hashable, Sendable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var entries: [(key: String, value: String)]

    public init() {
        self.entries = []
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.entries = elements.map { (key: Self.normalized($0.0), value: $0.1) }
    }

    /// The first value for `key`; setting replaces every value of `key`.
    public subscript(key: String) -> String? {
        get {
            let key = Self.normalized(key)
            return self.entries.first { $0.key == key }?.value
        }
        set {
            let key = Self.normalized(key)
            self.entries.removeAll { $0.key == key }
            if let newValue {
                self.entries.append((key: key, value: newValue))
            }
        }
    }

    /// Adds a value, keeping those already there.
    public mutating func add(_ value: String, forKey key: String) {
        self.entries.append((key: Self.normalized(key), value: value))
    }

    /// The key in lowercase; a key without uppercase letters (every well-known key, everything read from
    /// the wire) is returned as it is, without building a new string.
    private static func normalized(_ key: String) -> String {
        let plain = key.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x41 || ($0 > 0x5A && $0 < 0x80) }
        }
        return plain == true ? key : key.lowercased()
    }

    mutating func reserveCapacity(_ count: Int) {
        self.entries.reserveCapacity(count)
    }

    public var isEmpty: Bool { self.entries.isEmpty }
    public var count: Int { self.entries.count }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        self.entries.makeIterator()
    }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in self.entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }

    /// Well-known keys.
    public enum Keys {
        public static let authorization = "authorization"
        public static let requestID = "x-request-id"
        /// A client-chosen key that makes a mutating call safe to repeat: a server that saw the key (with
        /// the same request) within its window answers with the first call's result instead of applying it
        /// again. The client library sets one on every call of a non-idempotent method.
        public static let idempotencyKey = "idempotency-key"
    }

    /// Whether `value` can serve as a request id or an idempotency key: 1-128 characters of letters,
    /// digits, `.`, `_`, `:` and `-` (nothing that could forge a log line or hide in one).
    public static func isSafeIdentifier(_ value: String) -> Bool {
        let bytes = value.utf8
        return (1...128).contains(bytes.count) && bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x3A || byte == 0x2D
        }
    }
}

extension Metadata: CustomStringConvertible {
    /// The keys and values, with the value of `authorization` redacted.
    public var description: String {
        let shown = self.entries.map { entry in
            entry.key == Keys.authorization ? "\(entry.key): <redacted>" : "\(entry.key): \(entry.value)"
        }
        return "[" + shown.joined(separator: ", ") + "]"
    }
}
