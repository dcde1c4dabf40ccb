import ArgumentParser
import Foundation
import Logging
import MilestoneCrypto
import MilestoneIdentity
import MilestoneIdentityHTTP
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneServiceRuntime
import MilestoneWire

/// `milestone-identity`: SSO configurations and sealed secrets, on its embedded SQLite database; calls the
/// directory service with the service token.
@main
struct IdentityCommand: AsyncParsableCommand {
    static let service = ServiceDescription(
        name: "identity",
        defaultPort: 7402,
        settings: [
            .init(key: "milestone.identity.database", flag: "--database", meaning: "the SQLite database file", defaultValue: "DATA_DIR/identity.sqlite"),
            .init(key: "milestone.directory", flag: "--directory", meaning: "the directory service, HOST:PORT", defaultValue: "127.0.0.1:7401"),
            .init(key: "milestone.httpListen", flag: "--http-listen", meaning: "the HTTP edge (login screen, /api/auth/…), HOST:PORT", defaultValue: "127.0.0.1:7480"),
            .init(key: "milestone.publicBaseURL", flag: "--public-base-url", meaning: "where people reach Milestone; redirect URIs derive from it", defaultValue: "http://127.0.0.1:7480"),
            .init(key: "milestone.entraAuthority", flag: "--entra-authority", meaning: "the Entra ID authority (http only for loopback hosts)", defaultValue: "https://login.microsoftonline.com"),
            .init(key: ServiceSettings.Keys.secretKey, flag: nil, meaning: "the master key sealing client secrets, base64 of 32 bytes", defaultValue: "DATA_DIR/secret.key, created 0600"),
            .init(key: "sso.enabled", flag: nil, meaning: "with SSO_CLIENT_ID, SSO_CLIENT_SECRET, SSO_TENANT_ID, SSO_REDIRECT_URI: the instance SSO configuration, which then cannot be changed over RPC", defaultValue: "unset"),
        ]
    )

    static let configuration = CommandConfiguration(
        commandName: "milestone-identity",
        abstract: "The Milestone identity service: SSO configurations, sign-in with Microsoft Entra ID, users and sessions.",
        discussion: Self.service.help,
        version: MilestoneVersion.current
    )

    static func main() async {
        MemoryPolicy.compact()
        await ServiceRuntime.main(Self.self)
    }

    @OptionGroup var options: ServiceOptions

    @Option(help: "The SQLite database file. (default: DATA_DIR/identity.sqlite)")
    var database: String?

    @Option(help: "The directory service, HOST:PORT. (default: 127.0.0.1:7401)")
    var directory: String?

    @Option(help: "The HTTP edge's address, HOST:PORT. (default: 127.0.0.1:7480)")
    var httpListen: String?

    @Option(help: "Where people reach Milestone. (default: http://127.0.0.1:7480)")
    var publicBaseURL: String?

    @Option(help: "The Entra ID authority. (default: https://login.microsoftonline.com)")
    var entraAuthority: String?

    func run() async throws {
        let keys = (
            database: Self.service.key("database"), directory: "milestone.directory",
            publicBaseURL: "milestone.publicBaseURL", entraAuthority: "milestone.entraAuthority", httpListen: "milestone.httpListen"
        )
        let runtime = try ServiceRuntime(
            Self.service,
            options: self.options,
            flags: [
                keys.database: self.database, keys.directory: self.directory,
                keys.publicBaseURL: self.publicBaseURL, keys.entraAuthority: self.entraAuthority,
                keys.httpListen: self.httpListen,
            ]
        )
        let settings = runtime.settings
        let directoryText = settings.string(keys.directory) ?? "127.0.0.1:7401"
        guard let directoryEndpoint = Endpoint(directoryText) else {
            throw ValidationError("the directory address \"\(directoryText)\" (--directory or MILESTONE_DIRECTORY) is not HOST:PORT")
        }
        let httpText = settings.string(keys.httpListen) ?? "127.0.0.1:7480"
        guard let httpEndpoint = Endpoint(httpText) else {
            throw ValidationError("the HTTP edge address \"\(httpText)\" (--http-listen or MILESTONE_HTTP_LISTEN) is not HOST:PORT")
        }
        let identityConfiguration: IdentityConfiguration
        do {
            identityConfiguration = try IdentityConfiguration.checked(
                publicBaseURL: settings.string(keys.publicBaseURL),
                entraAuthority: settings.string(keys.entraAuthority),
                environment: ProcessInfo.processInfo.environment
            )
        } catch {
            throw ValidationError("\(error)")
        }
        try await runtime.main { context in
            let (box, keySource) = try MasterKey.load(
                environmentValue: context.settings.string(ServiceSettings.Keys.secretKey),
                dataDirectory: context.configuration.dataDirectory
            )
            let path = context.settings.string(keys.database) ?? context.dataFile("identity.sqlite")
            let database = try IdentityDatabase.open(path: path)
            context.logger.info(
                "database open",
                metadata: [
                    "path": "\(path)", "master-key-from": "\(keySource)", "master-key-id": "\(box.keyID)",
                    "directory": "\(directoryEndpoint)",
                    "instance-sso": "\(identityConfiguration.instanceEnvironment == nil ? "settings" : "environment")",
                ]
            )
            let directoryClient = RPCClient(
                endpoint: directoryEndpoint,
                configuration: RPCClientConfiguration(token: context.serviceToken),
                eventLoopGroup: context.eventLoopGroup,
                logger: context.logger
            )
            let directory = DirectoryV1.Directory.Client(directoryClient)
            let tenantMap = TenantMap(lifetime: identityConfiguration.directoryCacheLifetime)
            let service = IdentityService(
                database: database,
                secretBox: box,
                directory: RPCTenantDirectory(
                    client: directory,
                    endpoint: "\(directoryEndpoint)",
                    cacheLifetime: identityConfiguration.directoryCacheLifetime,
                    map: tenantMap
                ),
                configuration: identityConfiguration
            )
            try await service.prepare(logger: context.logger)
            let refresher = TenantMapRefresher(
                map: tenantMap, client: directory, interval: identityConfiguration.directoryCacheLifetime, logger: context.logger,
                afterRefresh: MemoryPolicy.returnFreeMemory
            )
            let edge = IdentityHTTPEdge(service: service, publicBaseURL: identityConfiguration.publicBaseURL, logger: context.logger)
            let http = edge.application(host: httpEndpoint.host, port: httpEndpoint.port, eventLoopGroup: context.eventLoopGroup) { port in
                context.logger.info("HTTP edge listening", metadata: ["address": "\(httpEndpoint.host):\(port)", "public-base-url": "\(identityConfiguration.publicBaseURL)"])
            }
            return ServiceSetup(rpcServices: [service], otherServices: [directoryClient, refresher, http])
        }
    }
}
