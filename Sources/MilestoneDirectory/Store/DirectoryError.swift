/// Why a directory operation failed. Each code stands for one RPC status (the service maps them, in
/// `DirectoryError+RPC.swift`); the store knows nothing of RPC.
public struct DirectoryError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable {
            case invalidArgument, notFound, alreadyExists, failedPrecondition, aborted, unavailable
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A field fails validation; the message names the field.
        public static let invalidArgument = Code(.invalidArgument)
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        /// The directory is not in the state the operation needs (a tenant of another organization, an
        /// organization that still has tenants).
        public static let failedPrecondition = Code(.failedPrecondition)
        /// A stale version: re-read and retry.
        public static let aborted = Code(.aborted)
        /// The database is busy (another process holds its write lock): retry later.
        public static let unavailable = Code(.unavailable)

        /// The code's canonical name, as the RPC status it stands for: `NOT_FOUND`.
        public var name: String {
            switch self.value {
            case .invalidArgument: "INVALID_ARGUMENT"
            case .notFound: "NOT_FOUND"
            case .alreadyExists: "ALREADY_EXISTS"
            case .failedPrecondition: "FAILED_PRECONDITION"
            case .aborted: "ABORTED"
            case .unavailable: "UNAVAILABLE"
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

    static func invalid(_ field: String, _ problem: String) -> DirectoryError {
        DirectoryError(.invalidArgument, "\(field): \(problem)")
    }

    static func organizationNotFound(_ id: String) -> DirectoryError {
        DirectoryError(.notFound, "organization \"\(id.prefix(100))\" does not exist")
    }

    static func tenantNotFound(_ id: String) -> DirectoryError {
        DirectoryError(.notFound, "tenant \"\(id.prefix(100))\" does not exist")
    }
}

extension DirectoryError {
    static let databaseBusy = DirectoryError(
        .unavailable, "the directory database is busy (another process holds its write lock); retry shortly"
    )
}
