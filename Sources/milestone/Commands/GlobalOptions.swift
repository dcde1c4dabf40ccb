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

    @Option(help: "The data folder holding credentials.json. (env: MILESTONE_DATA_DIR; default: ./.milestone)")
    var dataDir: String?

    @Option(help: "table for people, json for scripts.")
    var output: OutputFormat = .table

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
                throw ValidationError("the directory address \"\(text)\" is not HOST:PORT")
            }
            return endpoint
        }
    }

    /// MILESTONE_TOKEN, else the admin token of the data folder's credentials file, else none.
    var token: String? {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            if let token = environment["MILESTONE_TOKEN"], !token.isEmpty {
                return token
            }
            let dataDirectory = self.dataDir ?? environment["MILESTONE_DATA_DIR"] ?? "./.milestone"
            do {
                return try LocalCredentials.load(dataDirectory: dataDirectory)?.adminToken
            } catch {
                throw CLIError("cannot read \(LocalCredentials.fileURL(dataDirectory: dataDirectory).path): \(error.localizedDescription)")
            }
        }
    }

    /// Runs `body` with a client of the directory service.
    func withDirectory<T: Sendable>(_ body: (DirectoryV1.Directory.Client) async throws -> T) async throws -> T {
        let configuration = RPCClientConfiguration(
            token: try self.token,
            defaultTimeout: .milliseconds(Int64(self.timeout * 1000)),
            keepaliveInterval: nil
        )
        let logger = Logger(label: "milestone.cli") { _ in SwiftLogNoOpLogHandler() }
        return try await withRPCClient(try self.endpoint, configuration: configuration, logger: logger) { rpc in
            try await body(DirectoryV1.Directory.Client(rpc))
        }
    }
}
