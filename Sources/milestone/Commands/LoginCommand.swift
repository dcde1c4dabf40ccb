import ArgumentParser
import Foundation
import MilestoneClient
import MilestoneRPC
import MilestoneWire


/// `milestone login`: a sign-in for scripted checks. Prints the authorize URL, reads the callback URL the
/// browser landed on, completes the sign-in and shows the user. The session token goes to a 0600 file,
/// never to the output.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in through the identity service (for scripted checks): print the authorize URL, then complete with the callback URL.",
        discussion: """
            Open the printed URL in a browser, sign in, then paste the URL the browser was sent back to \
            (…/api/auth/callback?code=…&state=…) on standard input. The session token is written to \
            --session-token-file (mode 0600) if given, and never printed.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The tenant's slug.") var tenant: String?
    @Flag(help: "Sign in to the instance (single-tenant).") var instance = false
    @Option(help: "The relative path to land on afterwards.") var returnTo: String?
    @Option(help: "Preselect this account at the identity provider.") var loginHint: String?
    @Option(help: "Write the new session's token to this file (mode 0600).") var sessionTokenFile: String?

    func validate() throws {
        if (self.tenant == nil) == !self.instance { throw ValidationError("give either --tenant SLUG or --instance") }
    }

    func run() async throws {
        let slug = self.tenant ?? ""
        let text: String = try await self.global.withIdentity { identity, _ in
            let started = try await identity.startLogin(.init(tenantSlug: slug, returnTo: self.returnTo ?? "", loginHint: self.loginHint ?? ""))
            // Written at once (not buffered): a script reads it before answering on stdin.
            FileHandle.standardOutput.write(Data((started.authorizeURL + "\n").utf8))
            printError("open the URL above, sign in, then paste the callback URL here:")
            guard let line = readLine(strippingNewline: true), let url = URLComponents(string: line.trimmingCharacters(in: .whitespaces)) else {
                throw CLIError("no callback URL on standard input")
            }
            let expected = slug.isEmpty ? "/api/auth/callback" : "/t/\(slug)/api/auth/callback"
            guard url.path == expected else {
                throw CLIError("that is not the callback URL of \(slug.isEmpty ? "the instance" : "tenant \(slug)") (its path is \(expected))")
            }
            func value(_ name: String) -> String { url.queryItems?.first { $0.name == name }?.value ?? "" }
            let completed = try await identity.completeLogin(
                .init(state: value("state"), code: value("code"), error: value("error"), errorDescription: value("error_description"), tenantSlug: slug)
            )
            guard let user = completed.user, let session = completed.session else { throw CLIError("the identity service answered without a user") }
            if let path = self.sessionTokenFile {
                do {
                    try PrivateFile.write(Data((completed.sessionToken + "\n").utf8), to: path, exclusive: false)
                } catch {
                    throw CLIError("\(error)")
                }
            }
            if self.global.output == .json {
                return Rendering.jsonText(["user": UserRendering.json(user), "created": completed.created, "session": UserRendering.json(session), "return_to": completed.returnTo])
            }
            return "signed in\n" + Rendering.keyValues(
                [("user", "\(user.name) <\(user.email)> (\(user.id))"), ("created", completed.created ? "yes, on this first sign-in" : "no, updated")]
                    + UserRendering.details(session) + [("token", self.sessionTokenFile.map { "written to \($0)" } ?? "not kept (give --session-token-file)")]
            )
        }
        print(text)
    }
}
