import Foundation
import MilestoneClient
import MilestoneDirectory
import MilestoneRPC
import MilestoneDirectoryTesting
import MilestoneTesting
import MilestoneWire
import Testing

@Suite("Directory service over TCP", .timeLimit(.minutes(2)))
struct DirectoryRPCTests {
    @Test("a table of bad inputs: each gets its status and a message naming the problem")
    func badInputs() async throws {
        try await withDirectoryTestServer { server throws in
            let directory = server.client
            let acme = try await directory.createOrganization(.init(name: "Acme", adminEmail: "admin@acme.example"))
            let tenant = try await directory.createTenant(.init(slug: "acme-eu", displayName: "Acme EU", organizationID: acme.id))
            let other = try await directory.createOrganization(.init(name: "Other", adminEmail: "admin@other.example"))

            let cases: [(String, RPCError.Code, String, () async throws -> Void)] = [
                ("empty name", .invalidArgument, "name", { _ = try await directory.createOrganization(.init(name: "", adminEmail: "a@b.example")) }),
                ("blank name", .invalidArgument, "name", { _ = try await directory.createOrganization(.init(name: "   ", adminEmail: "a@b.example")) }),
                ("oversized name", .invalidArgument, "at most 200", { _ = try await directory.createOrganization(.init(name: String(repeating: "n", count: 201), adminEmail: "a@b.example")) }),
                ("duplicate name", .alreadyExists, "ACME", { _ = try await directory.createOrganization(.init(name: "ACME", adminEmail: "a@b.example")) }),
                ("bad email", .invalidArgument, "admin_email", { _ = try await directory.createOrganization(.init(name: "N1", adminEmail: "not-an-email")) }),
                ("email without domain dot", .invalidArgument, "admin_email", { _ = try await directory.createOrganization(.init(name: "N2", adminEmail: "a@localhost")) }),
                ("email with space", .invalidArgument, "admin_email", { _ = try await directory.createOrganization(.init(name: "N3", adminEmail: "a b@c.example")) }),
                ("uppercase slug", .invalidArgument, "slug", { _ = try await directory.createTenant(.init(slug: "Acme", displayName: "x")) }),
                ("leading hyphen", .invalidArgument, "slug", { _ = try await directory.createTenant(.init(slug: "-acme", displayName: "x")) }),
                ("trailing hyphen", .invalidArgument, "slug", { _ = try await directory.createTenant(.init(slug: "acme-", displayName: "x")) }),
                ("underscore", .invalidArgument, "slug", { _ = try await directory.createTenant(.init(slug: "a_b", displayName: "x")) }),
                ("64 characters", .invalidArgument, "63", { _ = try await directory.createTenant(.init(slug: String(repeating: "a", count: 64), displayName: "x")) }),
                ("empty slug", .invalidArgument, "slug", { _ = try await directory.createTenant(.init(slug: "", displayName: "x")) }),
                ("reserved api", .invalidArgument, "reserved", { _ = try await directory.createTenant(.init(slug: "api", displayName: "x")) }),
                ("reserved admin", .invalidArgument, "reserved", { _ = try await directory.createTenant(.init(slug: "admin", displayName: "x")) }),
                ("reserved t", .invalidArgument, "reserved", { _ = try await directory.createTenant(.init(slug: "t", displayName: "x")) }),
                ("reserved www", .invalidArgument, "reserved", { _ = try await directory.createTenant(.init(slug: "www", displayName: "x")) }),
                ("duplicate slug", .alreadyExists, "acme-eu", { _ = try await directory.createTenant(.init(slug: "acme-eu", displayName: "x")) }),
                ("empty display name", .invalidArgument, "display_name", { _ = try await directory.createTenant(.init(slug: "fine", displayName: "")) }),
                ("unknown organization", .notFound, "org_nope", { _ = try await directory.getOrganization(.init(id: "org_nope")) }),
                ("empty id", .invalidArgument, "id", { _ = try await directory.getOrganization(.init(id: "")) }),
                ("unknown tenant", .notFound, "ten_nope", { _ = try await directory.getTenant(.init(id: "ten_nope")) }),
                ("create in unknown organization", .notFound, "org_nope", { _ = try await directory.createTenant(.init(slug: "fine", displayName: "x", organizationID: "org_nope")) }),
                ("bad page token", .invalidArgument, "page_token", { _ = try await directory.listTenants(.init(pageToken: "garbage")) }),
                ("page size 10,000", .invalidArgument, "page_size", { _ = try await directory.listTenants(.init(pageSize: 10_000)) }),
                ("negative page size", .invalidArgument, "page_size", { _ = try await directory.listOrganizations(.init(pageSize: -1)) }),
                ("stale version", .aborted, "version", { _ = try await directory.updateOrganization(.init(id: acme.id, name: "Acme 2", expectedVersion: acme.version + 5)) }),
                ("missing version", .invalidArgument, "expected_version", { _ = try await directory.updateTenant(.init(id: tenant.id, displayName: "x", expectedVersion: 0)) }),
                ("tenant of another organization", .failedPrecondition, "move", { _ = try await directory.addTenant(.init(organizationID: other.id, tenantID: tenant.id)) }),
                ("delete with tenants", .failedPrecondition, "unassign", { _ = try await directory.deleteOrganization(.init(id: acme.id)) }),
                ("unknown slug", .notFound, "nope", { _ = try await directory.resolveTenant(.init(slug: "nope")) }),
            ]
            for (name, expected, fragment, call) in cases {
                do {
                    try await call()
                    Issue.record("\(name): expected \(expected), got OK")
                } catch let error as RPCError {
                    #expect(error.code == expected, "\(name)")
                    #expect(error.message.contains(fragment), "\(name): \"\(error.message)\" should mention \(fragment)")
                }
            }
            let defaultPage = try await directory.listTenants(.init(pageSize: 0))
            #expect(defaultPage.tenants.count == 1, "page size 0 means the default")
        }
    }

    @Test("a full round: create, assign, resolve, move, delete")
    func lifecycle() async throws {
        try await withDirectoryTestServer { server throws in
            let directory = server.client
            let acme = try await directory.createOrganization(.init(name: "Acme", adminEmail: "admin@acme.example"))
            let eu = try await directory.createTenant(.init(slug: "acme-eu", displayName: "Acme EU"))
            let us = try await directory.createTenant(.init(slug: "acme-us", displayName: "Acme US"))
            let set = try await directory.setOrganizationTenants(.init(organizationID: acme.id, tenantIDs: [us.id, eu.id]))
            #expect(set.tenantIDs == [eu.id, us.id], "ordered by slug")
            let resolved = try await directory.resolveTenant(.init(slug: "acme-us"))
            #expect(resolved.tenant?.organizationID == acme.id)
            #expect(resolved.organization?.tenantIDs == [eu.id, us.id])

            let globex = try await directory.createOrganization(.init(name: "Globex", adminEmail: "admin@globex.example"))
            let moved = try await directory.addTenant(.init(organizationID: globex.id, tenantID: eu.id, moveFromOtherOrganization: true))
            #expect(moved.tenantIDs == [eu.id])
            #expect(try await directory.getOrganization(.init(id: acme.id)).tenantIDs == [us.id])

            let renamed = try await directory.updateTenant(.init(id: us.id, displayName: "Acme United States", expectedVersion: try await directory.getTenant(.init(id: us.id)).version))
            #expect(renamed.displayName == "Acme United States")
            let unassigned = try await directory.deleteOrganization(.init(id: acme.id, unassignTenants: true)).unassignedTenantIDs
            #expect(unassigned == [us.id])
            #expect(try await directory.resolveTenant(.init(slug: "acme-us")).organization == nil)
            _ = try await directory.deleteTenant(.init(id: us.id))
            #expect(await statusCode { try await directory.getTenant(.init(id: us.id)) } == .notFound)
        }
    }

    @Test("two admins put one tenant into two organizations at once: exactly one wins")
    func concurrentAssignment() async throws {
        try await withDirectoryTestServer { server throws in
            let directory = server.client
            let first = try await directory.createOrganization(.init(name: "First", adminEmail: "a@first.example"))
            let second = try await directory.createOrganization(.init(name: "Second", adminEmail: "a@second.example"))
            for round in 0..<20 {
                let tenant = try await directory.createTenant(.init(slug: "contested-\(round)", displayName: "Contested"))
                async let viaAdd = statusCode { try await directory.addTenant(.init(organizationID: first.id, tenantID: tenant.id)) }
                async let viaSet = statusCode {
                    try await directory.setOrganizationTenants(.init(
                        organizationID: second.id,
                        tenantIDs: try await directory.getOrganization(.init(id: second.id)).tenantIDs + [tenant.id]
                    ))
                }
                let results = await [viaAdd, viaSet]
                #expect(results.filter { $0 == nil }.count == 1, "round \(round): \(results)")
                #expect(results.contains(.failedPrecondition))
                let owner = try await directory.getTenant(.init(id: tenant.id)).organizationID
                let inFirst = try await directory.getOrganization(.init(id: first.id)).tenantIDs.contains(tenant.id)
                let inSecond = try await directory.getOrganization(.init(id: second.id)).tenantIDs.contains(tenant.id)
                #expect(inFirst != inSecond, "round \(round): the tenant is in exactly one organization")
                #expect(owner == (inFirst ? first.id : second.id))
            }
        }
    }

    @Test("mutations need the admin token; reads accept the service token; no token is refused")
    func roles() async throws {
        try await withDirectoryTestServer { server throws in
            let acme = try await server.client.createOrganization(.init(name: "Acme", adminEmail: "admin@acme.example"))
            _ = try await server.client.createTenant(.init(slug: "acme", displayName: "Acme", organizationID: acme.id))
            try await server.withClient(token: server.serviceToken) { service throws in
                #expect(try await service.resolveTenant(.init(slug: "acme")).organization?.id == acme.id)
                #expect(try await service.listOrganizations().organizations.count == 1)
                #expect(try await service.getOrganization(.init(id: acme.id)).name == "Acme")
                #expect(await statusCode { try await service.createTenant(.init(slug: "x1", displayName: "x")) } == .permissionDenied)
                #expect(await statusCode { try await service.deleteOrganization(.init(id: acme.id, unassignTenants: true)) } == .permissionDenied)
            }
            try await server.withClient(token: nil) { anonymous throws in
                #expect(await statusCode { try await anonymous.resolveTenant(.init(slug: "acme")) } == .unauthenticated)
                #expect(try await HealthV1.Health.Client(anonymous.caller).check(.init(service: DirectoryV1.Directory.serviceName)).status == .serving)
            }
            try await server.withClient(token: "wrong") { wrong throws in
                #expect(await statusCode { try await wrong.listTenants() } == .unauthenticated)
            }
        }
    }

    @Test("a name holding NUL is refused, not stored cut short")
    func nulInName() async throws {
        try await withDirectoryTestServer { server throws in
            let create = WireMethod<RawPayload, DirectoryV1.Organization>(
                name: DirectoryV1.Directory.createOrganization.name, idempotency: .unknown
            )
            // CreateOrganizationRequest{name: "Nul Org\0; hidden suffix", admin_email: "a@nul.example"}, by hand.
            let name = Array("Nul Org".utf8) + [0] + Array("; hidden suffix".utf8)
            let email = Array("a@nul.example".utf8)
            let payload: [UInt8] = [0x0A, UInt8(name.count)] + name + [0x12, UInt8(email.count)] + email
            let code = await statusCode { try await server.test.client.unary(create, RawPayload(bytes: payload)) }
            #expect(code == .invalidArgument)
            #expect(try await server.client.listOrganizations().organizations.isEmpty)
        }
    }

    @Test("an idempotency key makes a repeated create return the first result; a reused key with another request is refused")
    func idempotencyKeys() async throws {
        try await withDirectoryTestServer { server throws in
            var options = CallOptions()
            options.idempotencyKey = "create-acme-2026-11-28"
            let first = try await server.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"), options: options)
            let retried = try await server.client.createOrganization(.init(name: "Acme", adminEmail: "a@acme.example"), options: options)
            #expect(retried == first, "the retry is answered with the first result, not ALREADY_EXISTS")
            #expect(await statusCode {
                try await server.client.createOrganization(.init(name: "Other", adminEmail: "a@acme.example"), options: options)
            } == .invalidArgument)
            options.idempotencyKey = "bad key\nwith newline"
            #expect(await statusCode {
                try await server.client.createOrganization(.init(name: "Third", adminEmail: "a@acme.example"), options: options)
            } == .invalidArgument)
            // Without a key of its own, each call of the generated client gets a fresh one: two creates, two results.
            _ = try await server.client.createTenant(.init(slug: "one", displayName: "One"))
            #expect(await statusCode { try await server.client.createTenant(.init(slug: "one", displayName: "One")) } == .alreadyExists)
        }
    }

    @Test("data survives a restart of the service")
    func restart() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("directory.sqlite").path
        let organizationID = try await withDirectoryTestServer(database: try DirectoryDatabase.open(path: path)) { server in
            let organization = try await server.client.createOrganization(.init(name: "Durable", adminEmail: "a@durable.example"))
            _ = try await server.client.createTenant(.init(slug: "durable", displayName: "Durable", organizationID: organization.id))
            return organization.id
        }
        try await withDirectoryTestServer(database: try DirectoryDatabase.open(path: path)) { server throws in
            let resolved = try await server.client.resolveTenant(.init(slug: "durable"))
            #expect(resolved.organization?.id == organizationID)
            #expect(resolved.organization?.name == "Durable")
        }
    }
}


/// A message whose bytes are given as they are: to send what our encoder would refuse.
struct RawPayload: WireMessage {
    var bytes: [UInt8] = []

    init() {}

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    init(wireBytes: UnsafeRawBufferPointer) throws {
        self.bytes = Array(wireBytes)
    }

    func wireBytes() throws -> [UInt8] {
        self.bytes
    }
}
