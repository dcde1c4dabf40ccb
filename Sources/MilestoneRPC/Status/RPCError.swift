/// The error every RPC fails with: a status code from gRPC's canonical set and a message.
///
/// The message is shown to callers; it never holds secrets. Server-side details that must not leave the
/// process are logged, not put here.
public struct RPCError: Error, Hashable, Sendable {
    /// A non-OK status code, with gRPC's numbers and meaning.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's number on the wire (1–16).
        public let rawValue: Int

        /// The code for a wire number, or nil for 0 (OK) and numbers outside 1–16.
        public init?(rawValue: Int) {
            guard (1...16).contains(rawValue) else { return nil }
            self.rawValue = rawValue
        }

        private init(_ rawValue: Int) { self.rawValue = rawValue }

        public static let cancelled = Code(1)
        public static let unknown = Code(2)
        public static let invalidArgument = Code(3)
        public static let deadlineExceeded = Code(4)
        public static let notFound = Code(5)
        public static let alreadyExists = Code(6)
        public static let permissionDenied = Code(7)
        public static let resourceExhausted = Code(8)
        public static let failedPrecondition = Code(9)
        public static let aborted = Code(10)
        public static let outOfRange = Code(11)
        public static let unimplemented = Code(12)
        public static let `internal` = Code(13)
        public static let unavailable = Code(14)
        public static let dataLoss = Code(15)
        public static let unauthenticated = Code(16)

        /// The canonical upper-case name, as printed by the CLI: `NOT_FOUND`.
        public var description: String {
            Self.names[self.rawValue]
        }

        private static let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
            "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
            "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]
    }

    public var code: Code
    public var message: String
    /// Metadata the server sent with the failed call (for example `x-request-id`).
    public var metadata: Metadata

    public init(code: Code, message: String, metadata: Metadata = [:]) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }
}

extension RPCError: CustomStringConvertible {
    /// `NOT_FOUND: tenant "acme" does not exist`.
    public var description: String {
        "\(self.code): \(self.message)"
    }
}
