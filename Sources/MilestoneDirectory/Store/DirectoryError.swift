public import MilestoneRPC

/// Why a directory operation failed. Each code maps to one RPC status.
public struct DirectoryError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private enum Value: Hashable, Sendable {
            case invalidArgument, notFound, alreadyExists, failedPrecondition, aborted
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

        /// The RPC status for this code.
        public var rpcCode: RPCError.Code {
            switch self.value {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .failedPrecondition: .failedPrecondition
            case .aborted: .aborted
            }
        }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code.rpcCode): \(self.message)" }

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

extension RPCError {
    init(_ error: DirectoryError) {
        self.init(code: error.code.rpcCode, message: error.message)
    }
}
