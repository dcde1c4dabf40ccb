/// Why an identity operation failed. Each code stands for one RPC status (mapped in
/// `Service/IdentityError+RPC.swift`); the store knows nothing of RPC. Messages never hold secrets.
public struct IdentityError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable {
            case invalidArgument, notFound, failedPrecondition, unavailable, unauthenticated, permissionDenied, `internal`
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A field fails validation; the message names the field.
        public static let invalidArgument = Code(.invalidArgument)
        public static let notFound = Code(.notFound)
        /// The instance configuration comes from the environment; the master key does not open a secret.
        public static let failedPrecondition = Code(.failedPrecondition)
        /// The directory service does not answer, or the database is busy: retry.
        public static let unavailable = Code(.unavailable)
        /// A session token names no live session.
        public static let unauthenticated = Code(.unauthenticated)
        /// The caller's role may not do this.
        public static let permissionDenied = Code(.permissionDenied)
        public static let `internal` = Code(.internal)

        public var name: String {
            switch self.value {
            case .invalidArgument: "INVALID_ARGUMENT"
            case .notFound: "NOT_FOUND"
            case .failedPrecondition: "FAILED_PRECONDITION"
            case .unavailable: "UNAVAILABLE"
            case .unauthenticated: "UNAUTHENTICATED"
            case .permissionDenied: "PERMISSION_DENIED"
            case .internal: "INTERNAL"
            }
        }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code.name): \(self.message)" }

    static func invalid(_ field: String, _ problem: String) -> IdentityError {
        IdentityError(.invalidArgument, "\(field): \(problem)")
    }
}
