import ArgumentParser
import Foundation
import Logging
import MilestoneDirectory
import MilestoneRPC
import MilestoneRPCNIO
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

@main
enum DirectoryMain {
    static func main() async {
        // Swift concurrency on NIO's event loops: no thread hops between I/O and handlers.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await DirectoryCommand.main()
    }
}

/// `milestone-directory`: the directory service on its embedded SQLite database.
struct DirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-directory",
        abstract: "The Milestone directory service: organizations, tenants and tenant assignment.",
        discussion: """
            Environment: MILESTONE_DIRECTORY_LISTEN, MILESTONE_DATA_DIR, MILESTONE_DIRECTORY_DATABASE, \
            MILESTONE_ADMIN_TOKEN, MILESTONE_SERVICE_TOKEN, MILESTONE_LOG_LEVEL (flags win). Without token \
            variables, tokens are read from (or created in) DATA_DIR/credentials.json, mode 0600.
            Stops gracefully on SIGTERM or SIGINT.
            """
    )

    @Option(help: "Where to listen, HOST:PORT. (default: 127.0.0.1:7401)")
    var listen: String?

    @Option(help: "The data folder. (default: ./.milestone)")
    var dataDir: String?

    @Option(help: "The SQLite database file. (default: DATA_DIR/directory.sqlite)")
    var database: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: DirectoryServerConfiguration
        do {
            configuration = try DirectoryServerConfiguration(
                listen: self.listen, dataDirectory: self.dataDir, databasePath: self.database,
                logLevel: self.logLevel, environment: environment
            )
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "milestone.directory")

        try FileManager.default.createDirectory(
            atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
        let (tokens, tokenSource) = try configuration.tokens(environment: environment)
        let databasePath = configuration.resolvedDatabasePath
        let database = try DirectoryDatabase.open(path: databasePath)
        logger.info("database open", metadata: ["path": "\(databasePath)", "tokens-from": "\(tokenSource)"])

        var router = Router()
        DirectoryService(database: database).register(in: &router)
        let server = RPCServer(
            configuration: RPCServerConfiguration(endpoint: configuration.listen, tokens: tokens),
            router: router,
            health: HealthService(services: [DirectoryService.serviceName]),
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
