public import ArgumentParser
public import Foundation
public import Logging
public import MilestoneRPC
public import MilestoneRPCNIO
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import UnixSignals

/// Everything a service executable does besides its domain: settings, logging, the data folder and its
/// tokens, one ``RPCServer`` hosting the service's RPC services (plus any other `Service`s, such as an HTTP
/// server on the same event loops), and a `ServiceGroup` that shuts down gracefully on SIGTERM / SIGINT.
///
/// ```swift
/// try await ServiceRuntime(Self.service, options: self.options).main { context in
///     ServiceSetup(rpcServices: [DirectoryService(database: try .open(path: context.dataFile("directory.sqlite")))])
/// }
/// ```
public struct ServiceRuntime: Sendable {
    public let service: ServiceDescription
    public let settings: ServiceSettings
    public let configuration: ServiceRuntimeConfiguration

    /// Reads the settings: flags (the common `options` and the service's own `flags`, by key), then
    /// `environment`, then defaults.
    ///
    /// - Throws: `ValidationError` (a usage error) naming the bad setting.
    public init(
        _ service: ServiceDescription,
        options: ServiceOptions,
        flags: [String: String?] = [:],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        var values = options.values(for: service)
        for case (let key, let value?) in flags { values[key] = value }
        self.service = service
        self.settings = ServiceSettings(flags: values, environment: environment)
        do {
            self.configuration = try ServiceRuntimeConfiguration(service, settings: self.settings)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// For an executable's `run()`: logs to standard error at the configured level, then ``run(logger:eventLoopGroup:_:)``.
    public func main(_ makeServices: (ServiceContext) async throws -> ServiceSetup) async throws {
        let level = self.configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        try await self.run(logger: Logger(label: "milestone.\(self.service.name)"), makeServices)
    }

    /// Prepares the service (data folder, tokens, the services `makeServices` returns) and runs it until
    /// SIGTERM / SIGINT or cancellation, draining calls in flight.
    public func run(
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ makeServices: (ServiceContext) async throws -> ServiceSetup
    ) async throws {
        let prepared = try await self.prepare(logger: logger, eventLoopGroup: eventLoopGroup, makeServices)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: prepared.server)] + prepared.otherServices.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// A service ready to run: its RPC server and the other services to run beside it.
    public struct Prepared: Sendable {
        public let server: RPCServer
        public let otherServices: [any Service]
    }

    /// Creates the data folder (0700), loads or creates the tokens, asks `makeServices` for the services,
    /// and builds the ``RPCServer`` for them; runs nothing. (Tests run the result themselves.)
    public func prepare(
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ makeServices: (ServiceContext) async throws -> ServiceSetup
    ) async throws -> Prepared {
        let configuration = self.configuration
        try configuration.createDataDirectory()
        let (admin, service, source) = try configuration.tokenValues(settings: self.settings)
        let tokens = BearerTokens(admin: admin, service: service)
        logger.info(
            "starting",
            metadata: ["data-dir": "\(configuration.dataDirectory)", "tokens-from": "\(source)"]
        )
        let context = ServiceContext(
            settings: self.settings, configuration: configuration, logger: logger, eventLoopGroup: eventLoopGroup,
            serviceToken: service
        )
        let setup = try await makeServices(context)
        let server = RPCServer(
            configuration: RPCServerConfiguration(endpoint: configuration.listen, authentication: .bearerTokens(tokens)),
            services: setup.rpcServices,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        )
        return Prepared(server: server, otherServices: setup.otherServices)
    }
}

/// What a service's setup closure gets: its settings, the data folder, a logger and the event loops.
public struct ServiceContext: Sendable {
    public let settings: ServiceSettings
    public let configuration: ServiceRuntimeConfiguration
    public let logger: Logger
    /// The loops the RPC server runs on; give them to anything else serving in the process.
    public let eventLoopGroup: any EventLoopGroup
    /// The service token, to call other Milestone services with (nil when only an admin token is set).
    public let serviceToken: String?

    /// A file in the data folder.
    public func dataFile(_ name: String) -> String {
        self.configuration.dataFile(name)
    }
}

/// What a service executable runs: RPC services (hosted by one ``RPCServer``) and any other services.
public struct ServiceSetup: Sendable {
    public var rpcServices: [any RegistrableRPCService]
    public var otherServices: [any Service]

    public init(rpcServices: [any RegistrableRPCService], otherServices: [any Service] = []) {
        self.rpcServices = rpcServices
        self.otherServices = otherServices
    }
}

extension ServiceRuntime {
    /// A service executable's `main`: parses the command line and runs the command, with the exit status
    /// the `milestone` CLI uses: 0 success, 1 an error (printed), 2 a usage error (printed with the usage).
    public static func main<Command: AsyncParsableCommand>(_ command: Command.Type) async {
        do {
            var parsed = try command.parseAsRoot()
            if var asyncCommand = parsed as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try parsed.run()
            }
        } catch {
            let code = command.exitCode(for: error)
            if code == .success {
                command.exit(withError: error)  // --help, --version
            }
            FileHandle.standardError.write(Data((command.fullMessage(for: error) + "\n").utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}
