import Foundation
public import Logging
public import MilestoneRPC

/// The settings every service executable shares, resolved and checked.
public struct ServiceRuntimeConfiguration: Sendable {
    /// Where the RPC server listens.
    public var listen: Endpoint
    /// The data folder: database, credentials, keys.
    public var dataDirectory: String
    public var logLevel: Logger.Level

    /// Resolves the common settings of `service`.
    ///
    /// - Throws: ``ServiceConfigurationError`` naming the setting and what is wrong with it.
    public init(_ service: ServiceDescription, settings: ServiceSettings) throws(ServiceConfigurationError) {
        let listenKey = service.key("listen")
        if let text = settings.string(listenKey) {
            guard let endpoint = Endpoint(text) else {
                throw ServiceConfigurationError(
                    "the listen address \"\(text)\" (--listen or \(ServiceSettings.environmentVariable(for: listenKey))) is not HOST:PORT"
                )
            }
            self.listen = endpoint
        } else {
            self.listen = Endpoint(host: "127.0.0.1", port: service.defaultPort)
        }
        self.dataDirectory = settings.string(ServiceSettings.Keys.dataDirectory) ?? "./.milestone"
        if let text = settings.string(ServiceSettings.Keys.logLevel) {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ServiceConfigurationError(
                    "the log level \"\(text)\" is not one of trace, debug, info, notice, warning, error, critical"
                )
            }
            self.logLevel = level
        } else {
            self.logLevel = .info
        }
    }

    /// A file in the data folder.
    public func dataFile(_ name: String) -> String {
        URL(fileURLWithPath: self.dataDirectory).appendingPathComponent(name).path
    }

    /// Creates the data folder (mode 0700) if it does not exist.
    public func createDataDirectory() throws {
        try FileManager.default.createDirectory(
            atPath: self.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
    }

    /// The tokens to accept, and where they came from (for the log; never the tokens themselves): the
    /// environment's when either token setting is set, otherwise the data folder's credentials file
    /// (created on first start).
    public func tokens(settings: ServiceSettings) throws -> (tokens: BearerTokens, source: String) {
        let (admin, service, source) = try self.tokenValues(settings: settings)
        return (BearerTokens(admin: admin, service: service), source)
    }

    /// The admin and service tokens themselves (the service token is what a service calls others with).
    func tokenValues(settings: ServiceSettings) throws -> (admin: String?, service: String?, source: String) {
        let admin = settings.string(ServiceSettings.Keys.adminToken)
        let service = settings.string(ServiceSettings.Keys.serviceToken)
        if admin != nil || service != nil {
            return (admin, service, "environment")
        }
        let credentials = try LocalCredentials.loadOrCreate(dataDirectory: self.dataDirectory)
        return (credentials.adminToken, credentials.serviceToken, LocalCredentials.fileURL(dataDirectory: self.dataDirectory).path)
    }
}
