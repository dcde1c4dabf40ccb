import Foundation
import GRDB
import Logging
import MilestoneCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Stored SSO configurations: validation, sealing of secrets, one transaction per change.
///
/// Reads on the sign-in path (``get(_:logger:)``, ``organizations(_:)``) come from an in-memory copy of the
/// table (without secrets), loaded on first use and updated by this store's own writes right after they
/// commit: never stale while one process owns the database (the embedded default; replicas over a shared
/// database will need another answer).
struct SSOConfigurationStore: Sendable {
    let database: IdentityDatabase
    let box: SecretBox
    /// Microseconds since 1970 (injectable for tests).
    let now: @Sendable () -> Int64
    private let cache = SettingsCache()

    init(database: IdentityDatabase, box: SecretBox, now: @escaping @Sendable () -> Int64 = SSOConfigurationStore.systemNow) {
        self.database = database
        self.box = box
        self.now = now
    }

    static let systemNow: @Sendable () -> Int64 = {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }

    /// Every configuration by scope key, from memory (loaded once).
    private func cached() async throws -> [String: SSOSettings] {
        while true {
            let (loaded, generation) = self.cache.state.withLock { ($0.settings, $0.generation) }
            if let loaded { return loaded }
            let read = try await self.read { db in
                Dictionary(try SSOConfigurationRecord.fetchAll(db).map { ($0.scope, $0.settings) }) { first, _ in first }
            }
            // Install what was read only if no write committed meanwhile; otherwise read again.
            let installed = self.cache.state.withLock { state -> [String: SSOSettings]? in
                if let existing = state.settings { return existing }
                guard state.generation == generation else { return nil }
                state.settings = read
                return read
            }
            if let installed { return installed }
        }
    }

    /// Records a committed change in the in-memory copy (if loaded), and that a change happened (so a load
    /// that started before it does not install a stale copy).
    private func remember(_ key: String, _ settings: SSOSettings?) {
        self.cache.state.withLock { state in
            state.generation += 1
            state.settings?[key] = settings
        }
    }

    /// Creates or replaces the configuration of `scope`; the secret is sealed with the scope bound in.
    func set(_ scope: SSOScope, _ change: SSOSettingsChange, logger: Logger) async throws -> SSOSettings {
        let change = try change.validated()
        let sealed = try self.box.seal(Array(change.clientSecret.utf8), associatedData: Self.associatedData(scope))
        let now = self.now()
        let settings = try await self.write(logger: logger) { db -> SSOSettings in
            let existing = try SSOConfigurationRecord.fetchOne(db, key: scope.key)
            var organizationID: String?
            if case .organization(let id) = scope { organizationID = id }
            let record = SSOConfigurationRecord(
                scope: scope.key,
                organizationID: organizationID,
                provider: change.provider.rawValue,
                clientID: change.clientID,
                directoryTenantID: change.directoryTenantID,
                issuerURL: change.issuerURL,
                enabled: change.enabled,
                secretKeyID: sealed.keyID,
                secret: Data(sealed.bytes),
                secretHint: SecretMetadata.hint(of: change.clientSecret),
                secretSetAt: now,
                secretExpiresOn: change.secretExpiresOn,
                createdAt: existing?.createdAt ?? now,
                updatedAt: now,
                version: (existing?.version ?? 0) + 1
            )
            try record.save(db)
            return record.settings
        }
        self.remember(scope.key, settings)
        logger.info("SSO configuration set", metadata: ["scope": "\(scope)", "version": "\(settings.version)"])
        return settings
    }

    func get(_ scope: SSOScope, logger: Logger) async throws -> SSOSettings? {
        try await self.cached()[scope.key]
    }

    /// Returns whether there was a configuration to delete.
    func delete(_ scope: SSOScope, logger: Logger) async throws -> Bool {
        let deleted = try await self.write(logger: logger) { db in try SSOConfigurationRecord.deleteOne(db, key: scope.key) }
        self.remember(scope.key, nil)
        if deleted { logger.info("SSO configuration deleted", metadata: ["scope": "\(scope)"]) }
        return deleted
    }

    /// Every stored configuration: the instance's first, then organizations' by id.
    func list(logger: Logger) async throws -> [SSOSettings] {
        try await self.read { db in
            try SSOConfigurationRecord.fetchAll(db, sql: "SELECT * FROM sso_configuration ORDER BY organization_id IS NOT NULL, organization_id")
                .map(\.settings)
        }
    }

    /// The configurations of several organizations at once (the effective-configuration path).
    func organizations(_ ids: [String]) async throws -> [String: SSOSettings] {
        let all = try await self.cached()
        var found: [String: SSOSettings] = [:]
        for id in ids {
            if let settings = all["org:\(id)"] { found[id] = settings }
        }
        return found
    }

    /// The client secret of `scope`, opened with the master key: for talking to the identity provider only.
    ///
    /// - Throws: ``IdentityError`` FAILED_PRECONDITION when the master key does not open it (another key, or
    ///   a ciphertext that does not belong to this configuration); NOT_FOUND without a configuration.
    func clientSecret(_ scope: SSOScope) async throws -> String {
        guard let record = try await self.read({ db in try SSOConfigurationRecord.fetchOne(db, key: scope.key) }) else {
            throw IdentityError(.notFound, "\(scope) has no SSO configuration")
        }
        do {
            let plaintext = try self.box.open(
                SecretBox.Sealed(keyID: record.secretKeyID, bytes: Array(record.secret)),
                associatedData: Self.associatedData(scope)
            )
            return String(decoding: plaintext, as: UTF8.self)
        } catch let error as CryptoError {
            throw IdentityError(
                .failedPrecondition,
                "the client secret of \(scope) cannot be opened (\(error.description)); check MILESTONE_SECRET_KEY / secret.key, or set the secret again"
            )
        }
    }

    /// The configurations whose secret was sealed with a key other than the configured one.
    func sealedWithOtherKeys() async throws -> [(scope: SSOScope, keyID: String)] {
        let keyID = self.box.keyID
        return try await self.read { db in
            try SSOConfigurationRecord.fetchAll(db, sql: "SELECT * FROM sso_configuration WHERE secret_key_id != ?", arguments: [keyID])
                .map { ($0.settings.scope, $0.secretKeyID) }
        }
    }

    /// What a sealed secret is bound to: its configuration's scope.
    static func associatedData(_ scope: SSOScope) -> [UInt8] {
        Array("milestone.identity.v1 sso secret \(scope.key)".utf8)
    }

    private func write<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await self.database.write(logger: logger, body)
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await self.database.read(body)
    }
}

/// The in-memory copy of the configurations (nil until loaded).
private final class SettingsCache: Sendable {
    let state = Mutex<(settings: [String: SSOSettings]?, generation: Int)>((nil, 0))
}
