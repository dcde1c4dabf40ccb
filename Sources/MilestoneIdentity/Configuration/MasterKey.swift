import Foundation
import MilestoneRPC
public import MilestoneCrypto

#if canImport(Glibc)
import Glibc
#endif

/// The master key that seals client secrets: `MILESTONE_SECRET_KEY` (base64 of 32 bytes), or in the
/// embedded default the key file `DATA_DIR/secret.key`, created (mode 0600, exclusively) on first start
/// and never replaced.
public enum MasterKey {
    /// The secret box for the configured key, and where the key came from (for the log; never the key).
    ///
    /// - Throws: ``IdentityError`` FAILED_PRECONDITION for a key that is not base64 of 32 bytes, or a key file
    ///   that is unreadable or not private.
    public static func load(environmentValue: String?, dataDirectory: String) throws -> (box: SecretBox, source: String) {
        if let text = environmentValue, !text.isEmpty {
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
                throw IdentityError(.failedPrecondition, "MILESTONE_SECRET_KEY must be base64 of 32 random bytes (openssl rand -base64 32)")
            }
            return (try SecretBox(key: Array(data)), "MILESTONE_SECRET_KEY")
        }
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent("secret.key").path
        if !FileManager.default.fileExists(atPath: path) {
            try self.create(path)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw IdentityError(.failedPrecondition, "\(path) is readable by others (mode \(String(mode, radix: 8))): chmod 600 it")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw IdentityError(.failedPrecondition, "\(path) does not hold base64 of 32 bytes: restore it from a backup (it is never rewritten)")
        }
        return (try SecretBox(key: Array(data)), path)
    }

    /// Writes a new random key to `path`, only if no file is there (a concurrent start keeps the first key).
    private static func create(_ path: String) throws {
        let text = Data(try Crypto.randomBytes(32)).base64EncodedString() + "\n"
        do {
            try PrivateFile.write(Data(text.utf8), to: path, exclusive: true)
        } catch where error.exists {
            return
        } catch {
            throw IdentityError(.failedPrecondition, "\(error)")
        }
    }
}
