import ArgumentParser
import Foundation
import MilestoneClient
import MilestoneRPC
import MilestoneWire

/// `milestone user …`: the users sign-in created, per tenant.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "List and show the users that signed in (created just in time by their first sign-in).",
        subcommands: [List.self, Get.self, RevokeSessions.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's users (or the instance's, with --instance).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The tenant's slug.") var tenant: String?
        @Flag(help: "The instance's users (single-tenant sign-in).") var instance = false

        func validate() throws {
            if (self.tenant == nil) == !self.instance { throw ValidationError("give either --tenant SLUG or --instance") }
        }

        func run() async throws {
            try await self.global.showIdentity { identity, _ in
                var users: [IdentityV1.User] = []
                var token = ""
                repeat {
                    let page = try await identity.listUsers(.init(tenantSlug: self.tenant ?? "", pageSize: 500, pageToken: token))
                    users += page.users
                    token = page.nextPageToken
                } while !token.isEmpty
                if self.global.output == .json { return Rendering.jsonText(["users": users.map(UserRendering.json)]) }
                guard !users.isEmpty else { return "no users have signed in to \(self.tenant.map { "tenant \($0)" } ?? "the instance") yet" }
                return Rendering.table(
                    header: ["ID", "NAME", "EMAIL", "LAST SIGN-IN"],
                    rows: users.map { [$0.id, $0.name, $0.email, Rendering.timestamp($0.lastSignInAtMicros)] },
                    wide: self.global.wide
                )
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one user.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user's id (usr_…).") var id: String

        func run() async throws {
            try await self.global.showIdentity { identity, _ in
                let user = try await identity.getUser(.init(userID: self.id))
                return self.global.output == .json ? Rendering.jsonText(UserRendering.json(user)) : UserRendering.details(user)
            }
        }
    }

    struct RevokeSessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-sessions", abstract: "Sign a user out everywhere: revoke all their sessions.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user's id (usr_…).") var id: String

        func run() async throws {
            try await self.global.showIdentity { identity, _ in
                let revoked = try await identity.revokeUserSessions(.init(userID: self.id)).revoked
                return self.global.output == .json ? Rendering.jsonText(["revoked": revoked]) : "revoked \(revoked) session(s) of \(self.id)"
            }
        }
    }
}

enum UserRendering {
    static func json(_ user: IdentityV1.User) -> [String: Any] {
        [
            "id": user.id, "tenant_slug": user.tenantSlug, "issuer": user.issuer, "subject": user.subject,
            "directory_tenant_id": user.directoryTenantID, "email": user.email, "name": user.name,
            "preferred_username": user.preferredUsername, "created_at": Rendering.timestamp(user.createdAtMicros),
            "updated_at": Rendering.timestamp(user.updatedAtMicros), "last_sign_in_at": Rendering.timestamp(user.lastSignInAtMicros),
        ]
    }

    static func details(_ user: IdentityV1.User) -> String {
        Rendering.keyValues([
            ("id", user.id), ("name", user.name), ("email", user.email), ("username", user.preferredUsername),
            ("tenant", user.tenantSlug.isEmpty ? "(the instance)" : user.tenantSlug), ("issuer", user.issuer),
            ("subject", user.subject), ("directory tenant", user.directoryTenantID.isEmpty ? "-" : user.directoryTenantID),
            ("created", Rendering.timestamp(user.createdAtMicros)), ("last sign-in", Rendering.timestamp(user.lastSignInAtMicros)),
        ])
    }

    static func json(_ session: IdentityV1.Session) -> [String: Any] {
        [
            "id": session.id, "user_id": session.userID, "tenant_slug": session.tenantSlug,
            "created_at": Rendering.timestamp(session.createdAtMicros), "expires_at": Rendering.timestamp(session.expiresAtMicros),
            "idle_expires_at": Rendering.timestamp(session.idleExpiresAtMicros),
        ]
    }

    static func details(_ session: IdentityV1.Session) -> [(String, String)] {
        [
            ("session", session.id), ("expires", Rendering.timestamp(session.expiresAtMicros)),
            ("idle expiry", Rendering.timestamp(session.idleExpiresAtMicros)),
        ]
    }
}
