public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bearer tokens of an embedded deployment, kept in `credentials.json` in the data folder (mode
/// 0600, folder 0700). The services create it on first start when no token comes from the environment; the
/// CLI reads the admin token from it, so that after `Scripts/up` it works with no flags.
public struct LocalCredentials: Codable, Sendable, Hashable, CustomStringConvertible {
    public var adminToken: String
    public var serviceToken: String

    enum CodingKeys: String, CodingKey {
        case adminToken = "admin_token"
        case serviceToken = "service_token"
    }

    public init(adminToken: String, serviceToken: String) {
        self.adminToken = adminToken
        self.serviceToken = serviceToken
    }

    /// Never prints the tokens.
    public var description: String { "LocalCredentials(<redacted>)" }

    public static func fileURL(dataDirectory: String) -> URL {
        URL(fileURLWithPath: dataDirectory).appendingPathComponent("credentials.json")
    }

    /// The credentials in `dataDirectory`, or nil when there is no file.
    public static func load(dataDirectory: String) throws -> LocalCredentials? {
        let url = self.fileURL(dataDirectory: dataDirectory)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONDecoder().decode(LocalCredentials.self, from: Data(contentsOf: url))
    }

    /// The credentials in `dataDirectory`, created with random 256-bit tokens when missing.
    ///
    /// Creation is exclusive: the file is written in full to a temporary file (0600) and linked into place
    /// only if no file is there, so two processes starting together on a new data folder never overwrite
    /// each other's tokens; the loser reads the winner's file.
    public static func loadOrCreate(dataDirectory: String) throws -> LocalCredentials {
        if let existing = try self.load(dataDirectory: dataDirectory) {
            return existing
        }
        try FileManager.default.createDirectory(
            atPath: dataDirectory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let credentials = LocalCredentials(adminToken: randomToken(), serviceToken: randomToken())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(credentials)
        let path = self.fileURL(dataDirectory: dataDirectory).path
        let temporary = "\(path).\(getpid()).\(randomToken().prefix(8)).tmp"
        do {
            try PrivateFile.write(data, to: temporary, exclusive: true)
        } catch {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary, "errno": error.code])
        }
        defer { unlink(temporary) }
        if link(temporary, path) != 0 {
            let error = errno
            if error == EEXIST, let existing = try self.load(dataDirectory: dataDirectory) {
                return existing
            }
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, "errno": error])
        }
        return credentials
    }

    /// 32 random bytes, hex-encoded.
    package static func randomToken() -> String {
        randomHex(bytes: 32)
    }
}
