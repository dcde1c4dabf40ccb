import Foundation
import MilestoneDirectoryTesting
import MilestoneRPC
import MilestoneTesting
import NIOPosix
import Synchronization
import Testing

/// Runs the built `milestone` binary against a live directory service.
@Suite("milestone CLI against a live service", .timeLimit(.minutes(3)))
struct CLITests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("milestone")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/milestone")
    }

    /// Runs the binary on NIO's blocking-I/O thread pool, so that waiting for it never blocks Swift concurrency's
    /// threads (the in-process server needs them).
    func run(
        _ arguments: [String], server: DirectoryTestServer, token: String?, dataDir: String? = nil, directory: String? = nil
    ) async throws -> Result {
        try await NIOThreadPool.singleton.runIfActive {
            try self.runBlocking(arguments, server: server, token: token, dataDir: dataDir, directory: directory)
        }
    }

    private func runBlocking(
        _ arguments: [String], server: DirectoryTestServer, token: String?, dataDir: String?, directory: String?
    ) throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["MILESTONE_DIRECTORY"] = directory ?? "\(server.endpoint)"
        environment["MILESTONE_TOKEN"] = token
        environment["MILESTONE_DATA_DIR"] = dataDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("none-\(UUID().uuidString)").path
        let result = try spawnAndWait(path: Self.binary.path, arguments: arguments, environment: environment)
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    @Test("create, assign, list and resolve: table and JSON output, exit 0")
    func happyPath() async throws {
        try await withDirectoryTestServer { server throws in
            let token = server.adminToken
            let created = try await self.run(["org", "create", "--name", "Acme Corp", "--admin-email", "admin@acme.example"], server: server, token: token)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("name:        Acme Corp"))

            let tenant = try await self.run(["tenant", "create", "acme-eu", "--name", "Acme EU", "--output", "json"], server: server, token: token)
            #expect(tenant.status == 0)
            let tenantJSON = try #require(try self.json(tenant.stdout) as? [String: Any])
            #expect(Set(tenantJSON.keys) == ["id", "slug", "display_name", "organization_id", "created_at", "updated_at", "version"])
            #expect(tenantJSON["organization_id"] is NSNull)
            #expect(try await self.run(["tenant", "create", "acme-us", "--name", "Acme US"], server: server, token: token).status == 0)

            let set = try await self.run(["org", "tenants", "set", "acme corp", "acme-eu", "acme-us"], server: server, token: token)
            #expect(set.status == 0, "\(set.stderr)")

            let list = try await self.run(["org", "list"], server: server, token: token)
            #expect(list.status == 0)
            let lines = list.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("NAME") == true && lines.first?.contains("ADMIN EMAIL") == true)
            #expect(lines.count == 2 && lines[1].contains("Acme Corp") && lines[1].contains("acme-eu, acme-us"))
            #expect(!list.stdout.contains("org_") && !list.stdout.contains("ten_"), "people see names and slugs, not ids")

            let listJSON = try #require(try self.json(try await self.run(["org", "list", "--output", "json"], server: server, token: token).stdout) as? [String: Any])
            let organizations = try #require(listJSON["organizations"] as? [[String: Any]])
            #expect(organizations.count == 1)
            #expect(Set(organizations[0].keys) == ["id", "name", "admin_email", "tenant_ids", "created_at", "updated_at", "version"])
            #expect((organizations[0]["tenant_ids"] as? [String])?.count == 2)
            #expect(listJSON["next_page_token"] as? String == "")

            let resolved = try #require(try self.json(try await self.run(["tenant", "resolve", "acme-us", "--output", "json"], server: server, token: token).stdout) as? [String: Any])
            #expect((resolved["organization"] as? [String: Any])?["name"] as? String == "Acme Corp")
            #expect((resolved["tenant"] as? [String: Any])?["slug"] as? String == "acme-us")

            let update = try await self.run(["org", "update", "Acme Corp", "--name", "Acme Inc"], server: server, token: token)
            #expect(update.status == 0 && update.stdout.contains("Acme Inc"))
            let delete = try await self.run(["org", "delete", "Acme Inc"], server: server, token: token)
            #expect(delete.status == 1 && delete.stderr.contains("FAILED_PRECONDITION"))
            let forced = try await self.run(["org", "delete", "Acme Inc", "--unassign-tenants", "--output", "json"], server: server, token: token)
            #expect(forced.status == 0)
            #expect(((try self.json(forced.stdout) as? [String: Any])?["unassigned_tenant_ids"] as? [String])?.count == 2)
            #expect(!(created.stdout + created.stderr + list.stdout + forced.stdout).contains(token), "the token is never printed")
        }
    }

    @Test("errors exit 1 with the status name; usage errors exit 2")
    func errors() async throws {
        try await withDirectoryTestServer { server throws in
            let token = server.adminToken
            let missing = try await self.run(["org", "get", "org_doesnotexist"], server: server, token: token)
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("NOT_FOUND"))
            let badSlug = try await self.run(["tenant", "create", "Bad_Slug", "--name", "x"], server: server, token: token)
            #expect(badSlug.status == 1)
            #expect(badSlug.stderr.contains("INVALID_ARGUMENT") && badSlug.stderr.contains("slug"))
            let reserved = try await self.run(["tenant", "create", "api", "--name", "x"], server: server, token: token)
            #expect(reserved.status == 1 && reserved.stderr.contains("reserved"))
            #expect(try await self.run(["org", "create", "--admin-email", "a@b.example"], server: server, token: token).status == 2)
            #expect(try await self.run(["org", "list", "--page-size", "0"], server: server, token: token).status == 2)
            #expect(try await self.run(["org", "frobnicate"], server: server, token: token).status == 2)
            let unauthenticated = try await self.run(["tenant", "list"], server: server, token: "not-the-token")
            #expect(unauthenticated.status == 1 && unauthenticated.stderr.contains("UNAUTHENTICATED"))
            #expect(unauthenticated.stderr.contains("MILESTONE_TOKEN"), "says which token was refused")
            let help = try await self.run(["--help"], server: server, token: nil)
            #expect(help.status == 0 && help.stdout.contains("org"))
            let bare = try await self.run([], server: server, token: nil)
            #expect(bare.status == 2 && bare.stderr.contains("USAGE"), "milestone alone is a usage error")
            let version = try await self.run(["--version"], server: server, token: nil)
            #expect(version.status == 0 && version.stdout.contains(MilestoneVersion.current))
            #expect(try await self.run(["org", "update", "x", "--name", "y", "--expected-version", "0"], server: server, token: token).status == 2)
        }
    }

    @Test("errors say what happened and what to do, in the CLI's own words")
    func helpfulErrors() async throws {
        try await withDirectoryTestServer { server throws in
            let token = server.adminToken
            let noToken = try await self.run(["tenant", "list"], server: server, token: nil)
            #expect(noToken.status == 1)
            #expect(noToken.stderr.contains("credentials.json") && noToken.stderr.contains("MILESTONE_TOKEN") && noToken.stderr.contains("--data-dir"))
            let refused = try await self.run(["health"], server: server, token: token, directory: "127.0.0.1:1")
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("no directory service answers at 127.0.0.1:1") && refused.stderr.contains("Scripts/up"))
            #expect(!refused.stderr.contains("errno"), "no NIO dump")

            _ = try await self.run(["org", "create", "--name", "Acme", "--admin-email", "a@acme.example"], server: server, token: token)
            _ = try await self.run(["org", "create", "--name", "Other", "--admin-email", "a@other.example"], server: server, token: token)
            _ = try await self.run(["tenant", "create", "eu", "--name", "EU", "--org", "Acme"], server: server, token: token)
            let move = try await self.run(["org", "tenants", "add", "Other", "eu"], server: server, token: token)
            #expect(move.stderr.contains("--move"), "\(move.stderr)")
            let delete = try await self.run(["org", "delete", "Acme"], server: server, token: token)
            #expect(delete.stderr.contains("--unassign-tenants"), "\(delete.stderr)")
            let email = try await self.run(["org", "create", "--name", "Bad", "--admin-email", "a@1.2"], server: server, token: token)
            #expect(email.stderr.contains("--admin-email") && !email.stderr.contains("admin_email"), "\(email.stderr)")
        }
    }

    @Test("people see names and slugs; lookups trim, and a name shaped like an id still works")
    func humanOutput() async throws {
        try await withDirectoryTestServer { server throws in
            let token = server.adminToken
            _ = try await self.run(["org", "create", "--name", "org_partners", "--admin-email", "a@p.example"], server: server, token: token)
            let long = String(repeating: "Long Name ", count: 15)
            _ = try await self.run(["org", "create", "--name", long, "--admin-email", "a@l.example"], server: server, token: token)
            let byName = try await self.run(["org", "get", "  org_partners "], server: server, token: token)
            #expect(byName.status == 0 && byName.stdout.contains("name:        org_partners"), "\(byName.stderr)")
            _ = try await self.run(["tenant", "create", "eu", "--name", "EU", "--org", "org_partners"], server: server, token: token)
            _ = try await self.run(["tenant", "create", "us", "--name", "US"], server: server, token: token)

            let set = try await self.run(["org", "tenants", "set", "org_partners", "us"], server: server, token: token)
            #expect(set.stdout.contains("added: us") && set.stdout.contains("removed: eu"), "\(set.stdout)")
            let tenant = try await self.run(["tenant", "get", "us"], server: server, token: token)
            #expect(tenant.stdout.contains("organization: org_partners"))
            let table = try await self.run(["org", "list"], server: server, token: token)
            #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count < 120 }, "a long name does not pad every row")
            #expect(table.stdout.contains("…"))
            let wide = try await self.run(["org", "list", "--wide"], server: server, token: token)
            #expect(wide.stdout.contains("org_") && wide.stdout.contains(long.trimmingCharacters(in: .whitespaces)))
            let page = try #require(try self.json(try await self.run(["tenant", "list", "--page-size", "1", "-o", "json"], server: server, token: token).stdout) as? [String: Any])
            #expect((page["next_page_token"] as? String)?.isEmpty == false, "the next page token is in the JSON")
        }
    }

    @Test("tenant get SLUG takes one call; tenant update SLUG two")
    func fewCalls() async throws {
        let counter = CallCounter()
        try await withDirectoryTestServer(interceptors: [counter]) { server throws in
            let token = server.adminToken
            _ = try await self.run(["tenant", "create", "solo", "--name", "Solo"], server: server, token: token)
            counter.reset()
            #expect(try await self.run(["tenant", "get", "solo"], server: server, token: token).status == 0)
            #expect(counter.methods == ["ResolveTenant"])
            counter.reset()
            #expect(try await self.run(["tenant", "update", "solo", "--name", "Solo 2"], server: server, token: token).status == 0)
            #expect(counter.methods == ["ResolveTenant", "UpdateTenant"])
        }
    }

    @Test("milestone-directory: a usage error exits 2, like the CLI")
    func serviceUsageError() async throws {
        let binary = Self.binary.deletingLastPathComponent().appendingPathComponent("milestone-directory").path
        let result = try await NIOThreadPool.singleton.runIfActive {
            try spawnAndWait(path: binary, arguments: ["--listen", "nowhere"], environment: ProcessInfo.processInfo.environment)
        }
        #expect(result.status == 2)
        #expect(result.stderr.contains("--listen") && result.stderr.contains("MILESTONE_DIRECTORY_LISTEN"))
    }

    @Test("the token comes from the data folder's credentials file when MILESTONE_TOKEN is unset")
    func credentialsFile() async throws {
        try await withDirectoryTestServer { server throws in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(LocalCredentials(adminToken: server.adminToken, serviceToken: server.serviceToken))
            try data.write(to: LocalCredentials.fileURL(dataDirectory: folder.path))
            let health = try await self.run(["tenant", "list", "--output", "json"], server: server, token: nil, dataDir: folder.path)
            #expect(health.status == 0, "\(health.stderr)")
        }
    }
}

/// Records the methods the server was called with (their last path part).
final class CallCounter: ServerInterceptor {
    private let calls = Mutex<[String]>([])

    var methods: [String] { self.calls.withLock { $0 } }

    func reset() { self.calls.withLock { $0.removeAll() } }

    nonisolated(nonsending) func intercept(
        request: ServerRequest,
        context: ServerContext,
        next: nonisolated(nonsending) @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
    ) async throws -> ServerResponse {
        self.calls.withLock { $0.append(String(context.method.split(separator: "/").last ?? "")) }
        return try await next(request, context)
    }
}
