import Foundation
import MilestoneCrypto

/// A compact JWS ID token, split and decoded but not yet trusted.
struct IDToken: Sendable {
    struct Header: Sendable {
        var algorithm: String
        var keyID: String?
    }

    var header: Header
    var claims: [String: JSONValue]
    /// `header.payload`, the bytes the signature covers.
    var signingInput: [UInt8]
    var signature: [UInt8]

    /// Splits and decodes `text`; never trusts it.
    init(_ text: String) throws(IDTokenError) {
        guard text.utf8.count <= 64 * 1024 else { throw .malformed("is longer than 64 KiB") }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("is not a signed JWT (three dot-separated parts)") }
        guard let headerBytes = Base64URL.decode(String(parts[0])), let header = JSONValue.object(headerBytes) else {
            throw .malformed("has a header that is not base64url JSON")
        }
        guard let payloadBytes = Base64URL.decode(String(parts[1])), let claims = JSONValue.object(payloadBytes) else {
            throw .malformed("has a payload that is not base64url JSON")
        }
        guard let signature = Base64URL.decode(String(parts[2])) else { throw .malformed("has a signature that is not base64url") }
        guard case .string(let algorithm)? = header["alg"] else { throw .malformed("names no algorithm") }
        // RFC 7515 4.1.11: extensions marked critical must be understood, and none is.
        guard header["crit"] == nil else { throw .malformed("marks header extensions critical (crit), which this service does not understand") }
        var keyID: String?
        if case .string(let kid)? = header["kid"] { keyID = kid }
        self.header = Header(algorithm: algorithm, keyID: keyID)
        self.claims = claims
        self.signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        self.signature = signature
    }

    func string(_ name: String) -> String? {
        if case .string(let value)? = self.claims[name] { return value }
        return nil
    }

    func number(_ name: String) -> Double? {
        if case .number(let value)? = self.claims[name] { return value }
        return nil
    }

    /// `aud` as a list (a string or an array of strings).
    var audiences: [String] {
        switch self.claims["aud"] {
        case .string(let value)?: [value]
        case .array(let values)?: values.compactMap { if case .string(let s) = $0 { s } else { nil } }
        default: []
        }
    }
}

/// Why an ID token is refused; the message names the claim and never quotes the token.
struct IDTokenError: Error, Hashable, Sendable, CustomStringConvertible {
    var description: String

    static func malformed(_ problem: String) -> IDTokenError { IDTokenError(description: "the ID token \(problem)") }
    static func claim(_ name: String, _ problem: String) -> IDTokenError { IDTokenError(description: "the ID token's \(name) \(problem)") }
}

/// A JSON value, decoded with `JSONDecoder` (Sendable and typed).
enum JSONValue: Hashable, Sendable, Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The JSON object in `bytes` (at most 1 MiB), or nil.
    static func object(_ bytes: [UInt8]) -> [String: JSONValue]? {
        guard bytes.count <= 1 << 20, case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            return nil
        }
        return object
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}
