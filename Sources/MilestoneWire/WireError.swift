/// A message could not be encoded or decoded.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case malformedMessage
            case invalidUTF8
            case stringContainsNUL
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The bytes are not a protobuf encoding of the expected message.
        public static let malformedMessage = Code(.malformedMessage)
        /// A string field holds bytes that are not UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A string holds a NUL character, which protobuf-c's C strings cannot carry: refused when encoding,
        /// and when decoding (instead of silently cutting the string at the NUL).
        public static let stringContainsNUL = Code(.stringContainsNUL)

        public var description: String {
            switch self.value {
            case .malformedMessage: "malformed message"
            case .invalidUTF8: "invalid UTF-8"
            case .stringContainsNUL: "string contains NUL"
            }
        }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }
}
