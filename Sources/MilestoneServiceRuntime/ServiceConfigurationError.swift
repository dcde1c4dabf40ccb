/// A setting that cannot be used, with what to do about it.
public struct ServiceConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
