import Foundation
import Logging
import MilestoneClient
import MilestoneRPC

/// Every setting of `milestone-directory`, read from flags and the environment in one place.
///
/// | setting | flag | environment | default |
/// |---|---|---|---|
/// | listen address | `--listen` | `MILESTONE_DIRECTORY_LISTEN` | `127.0.0.1:7401` |
/// | data folder | `--data-dir` | `MILESTONE_DATA_DIR` | `./.milestone` |
/// | database file | `--database` | `MILESTONE_DIRECTORY_DATABASE` | `DATA_DIR/directory.sqlite` |
/// | admin token | | `MILESTONE_ADMIN_TOKEN` | from `DATA_DIR/credentials.json` |
/// | service token | | `MILESTONE_SERVICE_TOKEN` | from `DATA_DIR/credentials.json` |
/// | log level | `--log-level` | `MILESTONE_LOG_LEVEL` | `info` |
///
/// Tokens: when neither environment variable is set, both come from the credentials file, created with
/// random tokens (mode 0600) on first start. When either is set, only the environment's tokens are accepted.
struct DirectoryServerConfiguration: Sendable {
    var listen = Endpoint(host: "127.0.0.1", port: 7401)
    var dataDirectory = "./.milestone"
    var databasePath: String?
    var logLevel = Logger.Level.info

    static let environmentKeys = [
        "MILESTONE_DIRECTORY_LISTEN", "MILESTONE_DATA_DIR", "MILESTONE_DIRECTORY_DATABASE",
        "MILESTONE_ADMIN_TOKEN", "MILESTONE_SERVICE_TOKEN", "MILESTONE_LOG_LEVEL",
    ]

    /// Flags win over the environment, which wins over the defaults.
    init(listen: String?, dataDirectory: String?, databasePath: String?, logLevel: String?, environment: [String: String]) throws {
        if let text = listen ?? environment["MILESTONE_DIRECTORY_LISTEN"] {
            guard let endpoint = Endpoint(text) else {
                throw ConfigurationError("the listen address \"\(text)\" is not HOST:PORT")
            }
            self.listen = endpoint
        }
        if let directory = dataDirectory ?? environment["MILESTONE_DATA_DIR"], !directory.isEmpty {
            self.dataDirectory = directory
        }
        self.databasePath = databasePath ?? environment["MILESTONE_DIRECTORY_DATABASE"]
        if let text = logLevel ?? environment["MILESTONE_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigurationError("the log level \"\(text)\" is not one of trace, debug, info, notice, warning, error, critical")
            }
            self.logLevel = level
        }
    }

    var resolvedDatabasePath: String {
        self.databasePath ?? URL(fileURLWithPath: self.dataDirectory).appendingPathComponent("directory.sqlite").path
    }

    /// The tokens to accept, and where they came from (for the log; never the tokens themselves).
    func tokens(environment: [String: String]) throws -> (BearerTokens, source: String) {
        let admin = environment["MILESTONE_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let service = environment["MILESTONE_SERVICE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if admin != nil || service != nil {
            return (BearerTokens(admin: admin, service: service), "environment")
        }
        let credentials = try LocalCredentials.loadOrCreate(dataDirectory: self.dataDirectory)
        return (
            BearerTokens(admin: credentials.adminToken, service: credentials.serviceToken),
            LocalCredentials.fileURL(dataDirectory: self.dataDirectory).path
        )
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
