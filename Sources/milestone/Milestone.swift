import ArgumentParser
import Foundation
import MilestoneRPC

@main
enum MilestoneMain {
    /// Exit status: 0 success, 1 an error (printed with its status name), 2 usage.
    static func main() async {
        if CommandLine.arguments.count == 1 {
            printError(Milestone.helpMessage())
            exit(2)
        }
        do {
            var command = try Milestone.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as RPCError {
            printError("error: \(error.code): \(Messages.forCLI(error.message))")
            exit(1)
        } catch let error as CLIError {
            printError("error: \(error.message)")
            exit(1)
        } catch let error as ExitCode {
            exit(error.rawValue)  // the command printed why
        } catch {
            let code = Milestone.exitCode(for: error)
            if code == .success {
                Milestone.exit(withError: error)  // --help, --version, completion scripts
            }
            printError(Milestone.fullMessage(for: error))
            exit(code == .validationFailure ? 2 : 1)
        }
    }
}

/// `milestone`: the administrators' command line for the Milestone services.
struct Milestone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone",
        abstract: "Administer Milestone organizations, tenants and services.",
        discussion: """
            The directory service's address comes from --directory or MILESTONE_DIRECTORY (default \
            127.0.0.1:7401), the identity service's from --identity or MILESTONE_IDENTITY (default \
            127.0.0.1:7402); the token from MILESTONE_TOKEN, else the admin token in DATA_DIR/credentials.json \
            (--data-dir or MILESTONE_DATA_DIR, default ./.milestone). Organizations are named by name or id, \
            tenants by slug or id. Exit status: 0 success, 1 error (printed as STATUS: message), 2 usage. \
            Shell completion: --generate-completion-script bash|zsh|fish.
            """,
        version: MilestoneVersion.current,
        subcommands: [OrganizationCommand.self, TenantCommand.self, SSOCommand.self, UserCommand.self, SessionCommand.self, LoginCommand.self, HealthCommand.self]
    )
}

/// A failure of the CLI itself (an argument that names nothing, no token), reported with exit status 1.
struct CLIError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
