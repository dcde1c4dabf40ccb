/// OpenSSL could not do what was asked (it should not happen; the message names the operation).
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
