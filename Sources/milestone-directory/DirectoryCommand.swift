import ArgumentParser
import Logging
import MilestoneDirectory
import MilestoneRPC
import MilestoneServiceRuntime

/// `milestone-directory`: the directory service on its embedded SQLite database.
@main
struct DirectoryCommand: AsyncParsableCommand {
    static let service = ServiceDescription(
        name: "directory",
        defaultPort: 7401,
        settings: [
            .init(key: "milestone.directory.database", flag: "--database", meaning: "the SQLite database file", defaultValue: "DATA_DIR/directory.sqlite"),
        ]
    )

    static let configuration = CommandConfiguration(
        commandName: "milestone-directory",
        abstract: "The Milestone directory service: organizations, tenants and tenant assignment.",
        discussion: Self.service.help,
        version: MilestoneVersion.current
    )

    static func main() async {
        MemoryPolicy.compact()
        await ServiceRuntime.main(Self.self)
    }

    @OptionGroup var options: ServiceOptions

    @Option(help: "The SQLite database file. (default: DATA_DIR/directory.sqlite)")
    var database: String?

    func run() async throws {
        let databaseKey = Self.service.key("database")
        let runtime = try ServiceRuntime(Self.service, options: self.options, flags: [databaseKey: self.database])
        try await runtime.main { context in
            let path = context.settings.string(databaseKey) ?? context.dataFile("directory.sqlite")
            let database = try DirectoryDatabase.open(path: path)
            context.logger.info("database open", metadata: ["path": "\(path)"])
            return ServiceSetup(rpcServices: [DirectoryService(database: database)])
        }
    }
}
