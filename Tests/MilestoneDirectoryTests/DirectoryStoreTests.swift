import Foundation
@testable import MilestoneDirectory
import Logging
import Testing

@Suite("Directory store (in-memory SQLite)", .timeLimit(.minutes(1)))
struct DirectoryStoreTests {
    func makeStore() throws -> DirectoryStore {
        DirectoryStore(database: try DirectoryDatabase.inMemory())
    }

    @Test("organizations: create trims the name, get returns it, versions count changes")
    func organizations() async throws {
        let store = try self.makeStore()
        let created = try await store.createOrganization(name: "  Acme Corp ", adminEmail: "admin@acme.example", logger: storeLogger)
        #expect(created.record.name == "Acme Corp")
        #expect(created.record.id.hasPrefix("org_") && created.record.id.count == 24)
        #expect(created.record.version == 1)
        let updated = try await store.updateOrganization(id: created.record.id, name: "Acme", adminEmail: nil, expectedVersion: 1, logger: storeLogger)
        #expect(updated.record.name == "Acme")
        #expect(updated.record.adminEmail == "admin@acme.example")
        #expect(updated.record.version == 2)
        await #expect(throws: DirectoryError(.aborted, "organization \(created.record.id) is at version 2, not 1: re-read it and retry")) {
            try await store.updateOrganization(id: created.record.id, name: "Stale", adminEmail: nil, expectedVersion: 1, logger: storeLogger)
        }
        #expect(try await store.organization(id: created.record.id, logger: storeLogger).record.name == "Acme")
    }

    @Test("names are unique case-insensitively")
    func uniqueNames() async throws {
        let store = try self.makeStore()
        _ = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", logger: storeLogger)
        let error = await #expect(throws: DirectoryError.self) {
            try await store.createOrganization(name: "ACME", adminEmail: "b@acme.example", logger: storeLogger)
        }
        #expect(error?.code == .alreadyExists)
    }

    @Test("tenant assignment: add, move needs the flag, remove, set replaces the whole set")
    func assignment() async throws {
        let store = try self.makeStore()
        let first = try await store.createOrganization(name: "First", adminEmail: "a@first.example", logger: storeLogger).record.id
        let second = try await store.createOrganization(name: "Second", adminEmail: "a@second.example", logger: storeLogger).record.id
        let alpha = try await store.createTenant(slug: "alpha", displayName: "Alpha", organizationID: nil, logger: storeLogger).id
        let beta = try await store.createTenant(slug: "beta", displayName: "Beta", organizationID: first, logger: storeLogger).id
        let gamma = try await store.createTenant(slug: "gamma", displayName: "Gamma", organizationID: nil, logger: storeLogger).id

        #expect(try await store.addTenant(organizationID: first, tenantID: alpha, move: false, logger: storeLogger).tenantIDs == [alpha, beta])
        let error = await #expect(throws: DirectoryError.self) {
            try await store.addTenant(organizationID: second, tenantID: alpha, move: false, logger: storeLogger)
        }
        #expect(error?.code == .failedPrecondition)
        #expect(try await store.addTenant(organizationID: second, tenantID: alpha, move: true, logger: storeLogger).tenantIDs == [alpha])
        #expect(try await store.organization(id: first, logger: storeLogger).tenantIDs == [beta])

        let set = try await store.setOrganizationTenants(organizationID: first, tenantIDs: [gamma, gamma], move: false, logger: storeLogger)
        #expect(set.tenantIDs == [gamma], "beta is unassigned, the duplicate is ignored")
        #expect(try await store.tenant(id: beta, logger: storeLogger).organizationID == nil)
        let setError = await #expect(throws: DirectoryError.self) {
            try await store.setOrganizationTenants(organizationID: first, tenantIDs: [alpha], move: false, logger: storeLogger)
        }
        #expect(setError?.code == .failedPrecondition)
        #expect(try await store.organization(id: first, logger: storeLogger).tenantIDs == [gamma], "a refused set changes nothing")

        #expect(try await store.removeTenant(organizationID: first, tenantID: gamma, logger: storeLogger).tenantIDs.isEmpty)
        let removeError = await #expect(throws: DirectoryError.self) {
            try await store.removeTenant(organizationID: first, tenantID: alpha, logger: storeLogger)
        }
        #expect(removeError?.code == .failedPrecondition)
    }

    @Test("deleting an organization with tenants needs the unassign flag")
    func deleteOrganization() async throws {
        let store = try self.makeStore()
        let organization = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", logger: storeLogger).record.id
        let tenant = try await store.createTenant(slug: "acme", displayName: "Acme", organizationID: organization, logger: storeLogger).id
        let error = await #expect(throws: DirectoryError.self) {
            try await store.deleteOrganization(id: organization, unassignTenants: false, expectedVersion: 0, logger: storeLogger)
        }
        #expect(error?.code == .failedPrecondition)
        #expect(try await store.deleteOrganization(id: organization, unassignTenants: true, expectedVersion: 0, logger: storeLogger) == [tenant])
        #expect(try await store.tenant(id: tenant, logger: storeLogger).organizationID == nil)
        let gone = await #expect(throws: DirectoryError.self) { try await store.organization(id: organization, logger: storeLogger) }
        #expect(gone?.code == .notFound)
    }

    @Test("resolve returns the tenant and its organization")
    func resolve() async throws {
        let store = try self.makeStore()
        let organization = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", logger: storeLogger).record.id
        _ = try await store.createTenant(slug: "acme-eu", displayName: "Acme EU", organizationID: organization, logger: storeLogger)
        _ = try await store.createTenant(slug: "solo", displayName: "Solo", organizationID: nil, logger: storeLogger)
        let (tenant, owner) = try await store.resolveTenant(slug: "acme-eu", logger: storeLogger)
        #expect(tenant.slug == "acme-eu")
        #expect(owner?.record.id == organization)
        #expect(try await store.resolveTenant(slug: "solo", logger: storeLogger).1 == nil)
        let error = await #expect(throws: DirectoryError.self) { try await store.resolveTenant(slug: "nope", logger: storeLogger) }
        #expect(error?.code == .notFound)
    }

    @Test("lists page in a stable order with opaque tokens and filters")
    func paging() async throws {
        let store = try self.makeStore()
        let organization = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", logger: storeLogger).record.id
        for index in 0..<120 {
            _ = try await store.createTenant(
                slug: String(format: "t%03d", 119 - index), displayName: "T", organizationID: index.isMultiple(of: 2) ? organization : nil, logger: storeLogger)
        }
        var slugs: [String] = []
        var token = ""
        var pages = 0
        repeat {
            let page = try await store.listTenants(pageSize: 50, pageToken: token, organizationID: "", unassignedOnly: false, slugPrefix: "", logger: storeLogger)
            slugs += page.items.map(\.slug)
            token = page.nextPageToken ?? ""
            pages += 1
        } while !token.isEmpty
        #expect(pages == 3)
        #expect(slugs == (0..<120).map { String(format: "t%03d", $0) })
        let assigned = try await store.listTenants(pageSize: 500, pageToken: "", organizationID: organization, unassignedOnly: false, slugPrefix: "", logger: storeLogger)
        #expect(assigned.items.count == 60)
        let unassigned = try await store.listTenants(pageSize: 500, pageToken: "", organizationID: "", unassignedOnly: true, slugPrefix: "", logger: storeLogger)
        #expect(unassigned.items.count == 60)
        let prefixed = try await store.listTenants(pageSize: 0, pageToken: "", organizationID: "", unassignedOnly: false, slugPrefix: "t10", logger: storeLogger)
        #expect(prefixed.items.map(\.slug) == (100..<110).map { String(format: "t%03d", $0) })
        #expect(prefixed.nextPageToken == nil)

        for name in ["beta", "Alpha", "gamma", "alpine"] {
            _ = try await store.createOrganization(name: name, adminEmail: "a@x.example", logger: storeLogger)
        }
        let organizations = try await store.listOrganizations(pageSize: 1, pageToken: "", namePrefix: "AL", logger: storeLogger)
        #expect(organizations.items.map(\.record.name) == ["Alpha"])
        let rest = try await store.listOrganizations(pageSize: 1, pageToken: try #require(organizations.nextPageToken), namePrefix: "al", logger: storeLogger)
        #expect(rest.items.map(\.record.name) == ["alpine"])
        #expect(rest.nextPageToken == nil)
        let all = try await store.listOrganizations(pageSize: 0, pageToken: "", namePrefix: "", logger: storeLogger)
        #expect(all.items.map(\.record.name) == ["Acme", "Alpha", "alpine", "beta", "gamma"], "by name, case-insensitively")
    }

    @Test("data survives closing and reopening the database file")
    func persistence() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("directory.sqlite").path
        let id: String
        do {
            let store = DirectoryStore(database: try DirectoryDatabase.open(path: path))
            id = try await store.createOrganization(name: "Durable", adminEmail: "a@durable.example", logger: storeLogger).record.id
            _ = try await store.createTenant(slug: "durable", displayName: "Durable", organizationID: id, logger: storeLogger)
        }
        let reopened = DirectoryStore(database: try DirectoryDatabase.open(path: path))
        #expect(try await reopened.organization(id: id, logger: storeLogger).record.name == "Durable")
        #expect(try await reopened.resolveTenant(slug: "durable", logger: storeLogger).1?.record.id == id)
    }

    @Test("page tokens round trip and garbage is refused")
    func pageTokens() throws {
        let token = PageToken(sortKey: "acme ü", id: "org_x")
        #expect(try PageToken(decoding: token.encoded) == token)
        for garbage in ["zz", "abc", "00", String(repeating: "ab", count: 2000), PageToken(sortKey: "a", id: "").encoded] {
            #expect(throws: DirectoryError.self) { try PageToken(decoding: garbage) }
        }
    }
}
let storeLogger = Logger(label: "milestone.test.store") { _ in SwiftLogNoOpLogHandler() }
