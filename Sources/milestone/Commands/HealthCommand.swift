import ArgumentParser
import MilestoneClient
import MilestoneRPC
import MilestoneWire

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that the directory service is serving (exit 1 when it is not)."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "A service name; empty for the server as a whole.") var service = ""

    func run() async throws {
        let status = try await self.global.withDirectory(needsToken: false) { directory in
            try await HealthV1.Health.Client(directory.caller).check(.init(service: self.service)).status
        }
        let name = switch status {
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .unknown, .unrecognized(_): "UNKNOWN"
        }
        switch self.global.output {
        case .table: print(name)
        case .json: Rendering.printJSON(["status": name])
        }
        if status != .serving {
            throw CLIError("the server is \(name)")
        }
    }
}
