import ArgumentParser
import Foundation
import MilestoneClient
import MilestoneRPC
import MilestoneWire

/// `milestone session …`: check and end sessions. Tokens are read from stdin or a file, never argv.
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Validate or revoke a session (the token from standard input or a file, never the command line).",
        subcommands: [Validate.self, Revoke.self]
    )

    struct TokenInput: ParsableArguments {
        @Option(help: "Read the session token from this file (default: standard input).") var tokenFile: String?

        func read() throws -> String {
            let data: Data
            if let path = self.tokenFile {
                guard let contents = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read the session token from \(path)") }
                data = contents
            } else {
                data = FileHandle.standardInput.readDataToEndOfFile()
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw CLIError("no session token given: pipe it to standard input or use --token-file PATH") }
            return token
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the user of a live session (exit 1 when it is not live); slides its idle expiry.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var input: TokenInput
        @Option(help: "Require the session to belong to this tenant (default: any tenant).") var tenant: String?

        func run() async throws {
            let token = try self.input.read()
            try await self.global.showIdentity { identity, _ in
                let found = try await identity.validateSession(.init(sessionToken: token, tenantSlug: self.tenant ?? "", anyTenant: self.tenant == nil))
                guard let user = found.user, let session = found.session else { throw CLIError("the identity service answered without a user") }
                if self.global.output == .json { return Rendering.jsonText(["user": UserRendering.json(user), "session": UserRendering.json(session)]) }
                return "valid session\n" + Rendering.keyValues(
                    [("user", "\(user.name) <\(user.email)> (\(user.id))"), ("tenant", session.tenantSlug.isEmpty ? "(the instance)" : session.tenantSlug)]
                        + UserRendering.details(session)
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a session: by its token (stdin or --token-file), or by --id.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var input: TokenInput
        @Option(help: "The session's id (ses_…) instead of its token.") var id: String?

        func run() async throws {
            let request: IdentityV1.RevokeSessionRequest = try self.id.map { IdentityV1.RevokeSessionRequest(sessionID: $0) }
                ?? IdentityV1.RevokeSessionRequest(sessionToken: try self.input.read())
            try await self.global.showIdentity { identity, _ in
                let revoked = try await identity.revokeSession(request).revoked
                if self.global.output == .json { return Rendering.jsonText(["revoked": revoked]) }
                return revoked ? "session revoked" : "no live session to revoke (already revoked, expired or unknown)"
            }
        }
    }
}
