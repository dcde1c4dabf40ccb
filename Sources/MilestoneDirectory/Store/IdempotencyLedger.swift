import Foundation
import GRDB

/// A client's idempotency key for a mutation, with a fingerprint of the request it came with.
struct IdempotencyKey: Hashable, Sendable {
    /// The client's key (1-128 characters, checked by the service).
    var key: String
    /// A digest of the operation's request: the same key with another request is refused.
    var fingerprint: [UInt8]
}

/// The keys of mutations already applied, with their results, kept for ``window``: the store records a key
/// in the same transaction as its change, and a repeated request returns the recorded result.
enum IdempotencyLedger {
    /// How long a key is remembered (24 hours).
    static let window: Int64 = 24 * 3600 * 1_000_000

    /// The result recorded for `key`, or nil when the key is new (or older than the window).
    static func recorded(_ db: Database, key: IdempotencyKey, operation: String, now: Int64) throws -> Data? {
        guard let row = try Row.fetchOne(
            db,
            sql: "SELECT operation, fingerprint, result FROM idempotent_request WHERE key = ? AND created_at >= ?",
            arguments: [key.key, now - Self.window]
        ) else {
            return nil
        }
        let recordedOperation: String = row["operation"]
        let fingerprint: Data = row["fingerprint"]
        guard recordedOperation == operation, Array(fingerprint) == key.fingerprint else {
            throw DirectoryError.invalid(
                "idempotency-key",
                "was already used for a different request; use a new key for a new request"
            )
        }
        return row["result"]
    }

    /// Records `key` with the result of the change just made; now and then (one write in 256, so the cost
    /// is spread) forgets keys older than the window. Expired keys are never consulted in any case.
    static func record(_ db: Database, key: IdempotencyKey, operation: String, result: Data, now: Int64) throws {
        if Int.random(in: 0..<256) == 0 {
            try db.execute(sql: "DELETE FROM idempotent_request WHERE created_at < ?", arguments: [now - Self.window])
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO idempotent_request (key, operation, fingerprint, result, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [key.key, operation, Data(key.fingerprint), result, now]
        )
    }
}
