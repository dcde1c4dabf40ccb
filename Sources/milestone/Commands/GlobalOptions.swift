import ArgumentParser
import Foundation
import Logging
import MilestoneClient
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneWire

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The directory service, HOST:PORT. (env: MILESTONE_DIRECTORY; default: 127.0.0.1:7401)")
    var directory: String?

    @Option(help: "The identity service, HOST:PORT. (env: MILESTONE_IDENTITY; default: 127.0.0.1:7402)")
    var identity: String?

    @Option(help: "The data folder holding credentials.json. (env: MILESTONE_DATA_DIR; default: ./.milestone)")
    var dataDir: String?

    @Option(name: [.customShort("o"), .long], help: "table for people, json for scripts.")
    var output: OutputFormat = .table

    @Flag(help: "Tables: show ids, and names in full.")
    var wide = false

    @Option(help: "Seconds to wait for each call.")
    var timeout: Double = 10

    func validate() throws {
        guard self.timeout > 0, self.timeout <= 3600 else {
            throw ValidationError("--timeout must be between 0 and 3600 seconds")
        }
    }

    var endpoint: Endpoint {
        get throws {
            let text = self.directory ?? ProcessInfo.processInfo.environment["MILESTONE_DIRECTORY"] ?? "127.0.0.1:7401"
            guard let endpoint = Endpoint(text) else {
                throw ValidationError("the directory address \"\(text)\" is not HOST:PORT (--directory or MILESTONE_DIRECTORY)")
            }
            return endpoint
        }
    }

    /// The admin token and where it came from: MILESTONE_TOKEN, else the data folder's credentials file.
    func token() throws -> (token: String, source: String) {
        let environment = ProcessInfo.processInfo.environment
        if let token = environment["MILESTONE_TOKEN"], !token.isEmpty {
            return (token, "MILESTONE_TOKEN")
        }
        let dataDirectory = self.dataDir ?? environment["MILESTONE_DATA_DIR"] ?? "./.milestone"
        let file = LocalCredentials.fileURL(dataDirectory: dataDirectory).standardizedFileURL.path
        let credentials: LocalCredentials?
        do {
            credentials = try LocalCredentials.load(dataDirectory: dataDirectory)
        } catch {
            throw CLIError("cannot read the token from \(file): \(error.localizedDescription)")
        }
        guard let credentials else {
            throw CLIError(
                """
                no admin token: MILESTONE_TOKEN is not set and there is no \(file). \
                Run milestone from the folder where Scripts/up ran, pass --data-dir (or MILESTONE_DATA_DIR) with \
                that folder's .milestone, or set MILESTONE_TOKEN.
                """
            )
        }
        return (credentials.adminToken, file)
    }

    var identityEndpoint: Endpoint {
        get throws {
            let text = self.identity ?? ProcessInfo.processInfo.environment["MILESTONE_IDENTITY"] ?? "127.0.0.1:7402"
            guard let endpoint = Endpoint(text) else {
                throw ValidationError("the identity address \"\(text)\" is not HOST:PORT (--identity or MILESTONE_IDENTITY)")
            }
            return endpoint
        }
    }

    /// Runs `body` with clients of the identity and directory services (names are looked up in the directory).
    func withIdentity<T: Sendable>(
        _ body: (IdentityV1.Identity.Client, DirectoryV1.Directory.Client) async throws -> T
    ) async throws -> T {
        let credential = try self.token()
        let endpoint = try self.identityEndpoint
        let configuration = RPCClientConfiguration(
            token: credential.token,
            defaultTimeout: .milliseconds(Int64(self.timeout * 1000)),
            keepaliveInterval: nil
        )
        let logger = Logger(label: "milestone.cli") { _ in SwiftLogNoOpLogHandler() }
        return try await self.withDirectory { directory in
            do {
                return try await withRPCClient(endpoint, configuration: configuration, logger: logger) { rpc in
                    try await body(IdentityV1.Identity.Client(rpc), directory)
                }
            } catch let error as RPCError where error.code == .unauthenticated {
                // The identity service's answer (a session that is not live, a refused token): said as such,
                // not as the directory's refusal of the admin token.
                throw CLIError("UNAUTHENTICATED: \(Messages.forCLI(error.message))")
            } catch let error as RPCError where error.code == .unavailable && error.message.hasPrefix("cannot connect") {
                throw CLIError(
                    """
                    no identity service answers at \(endpoint). Start one with Scripts/up (or milestone-identity), \
                    or point to one with --identity or MILESTONE_IDENTITY.
                    """
                )
            }
        }
    }

    /// Prints what `body` renders with a client of the directory service.
    func show(_ body: (DirectoryV1.Directory.Client) async throws -> String) async throws {
        let text: String = try await self.withDirectory(body)
        print(text)
    }

    /// Runs `body` with a client of the directory service, turning connection and token failures into
    /// messages that say what to do.
    func withDirectory<T: Sendable>(
        needsToken: Bool = true,
        _ body: (DirectoryV1.Directory.Client) async throws -> T
    ) async throws -> T {
        let credential = needsToken ? try self.token() : nil
        let endpoint = try self.endpoint
        let configuration = RPCClientConfiguration(
            token: credential?.token,
            defaultTimeout: .milliseconds(Int64(self.timeout * 1000)),
            keepaliveInterval: nil
        )
        let logger = Logger(label: "milestone.cli") { _ in SwiftLogNoOpLogHandler() }
        do {
            return try await withRPCClient(endpoint, configuration: configuration, logger: logger) { rpc in
                try await body(DirectoryV1.Directory.Client(rpc))
            }
        } catch let error as RPCError where error.code == .unavailable && error.message.hasPrefix("cannot connect") {
            throw CLIError(
                """
                no directory service answers at \(endpoint). Start one with Scripts/up (or milestone-directory), \
                or point to one with --directory or MILESTONE_DIRECTORY.
                """
            )
        } catch let error as RPCError where error.code == .unauthenticated {
            throw CLIError(
                "UNAUTHENTICATED: the directory service at \(endpoint) refused the admin token from \(credential?.source ?? "nowhere") (\(error.message))"
            )
        }
    }
}
