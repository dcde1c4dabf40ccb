import Foundation
@testable import MilestoneDirectory
import GRDB
import MilestoneCrypto
import Logging
import MilestoneRPC
import MilestoneStorage
import Synchronization
import MilestoneTesting
import MilestoneWire
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

    @Test("resolve answers from its cache, and every kind of write is seen by the next resolve")
    func resolveCacheNeverStale() async throws {
        let store = try self.makeStore()
        let cache = store.database.resolveCache
        let acme = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", logger: storeLogger).record.id
        let globex = try await store.createOrganization(name: "Globex", adminEmail: "g@globex.example", logger: storeLogger).record.id
        let tenant = try await store.createTenant(slug: "eu", displayName: "EU", organizationID: acme, logger: storeLogger)
        #expect(try await store.resolveTenant(slug: "eu", logger: storeLogger).1?.record.id == acme)
        #expect(cache.count == 1)
        #expect(try await store.resolveTenant(slug: "eu", logger: storeLogger).1?.tenantIDs == [tenant.id])

        // Organization renamed: its cached copy goes.
        let acmeVersion = UInt64(try await store.organization(id: acme, logger: storeLogger).record.version)
        _ = try await store.updateOrganization(id: acme, name: "Acme Corp", adminEmail: nil, expectedVersion: acmeVersion, logger: storeLogger)
        #expect(cache.count == 0)
        #expect(try await store.resolveTenant(slug: "eu", logger: storeLogger).1?.record.name == "Acme Corp")
        // Tenant moved to another organization.
        _ = try await store.addTenant(organizationID: globex, tenantID: tenant.id, move: true, logger: storeLogger)
        #expect(try await store.resolveTenant(slug: "eu", logger: storeLogger).1?.record.id == globex)
        // A second tenant joins: the organization's tenant list in the answer grows.
        let second = try await store.createTenant(slug: "us", displayName: "US", organizationID: globex, logger: storeLogger)
        #expect(try await store.resolveTenant(slug: "eu", logger: storeLogger).1?.tenantIDs.sorted() == [tenant.id, second.id].sorted())
        // Slug changed: the old slug is gone at once, the new one resolves.
        let tenantVersion = UInt64(try await store.tenant(id: tenant.id, logger: storeLogger).version)
        _ = try await store.updateTenant(id: tenant.id, displayName: "Europe", slug: "europe", expectedVersion: tenantVersion, logger: storeLogger)
        await #expect(throws: DirectoryError.self) { try await store.resolveTenant(slug: "eu", logger: storeLogger) }
        #expect(try await store.resolveTenant(slug: "europe", logger: storeLogger).0.displayName == "Europe")
        // Removed from its organization, then deleted.
        _ = try await store.removeTenant(organizationID: globex, tenantID: tenant.id, logger: storeLogger)
        #expect(try await store.resolveTenant(slug: "europe", logger: storeLogger).1 == nil)
        try await store.deleteTenant(id: tenant.id, expectedVersion: UInt64(try await store.tenant(id: tenant.id, logger: storeLogger).version), logger: storeLogger)
        let error = await #expect(throws: DirectoryError.self) { try await store.resolveTenant(slug: "europe", logger: storeLogger) }
        #expect(error?.code == .notFound)
        // A write that fails (here: a taken slug) leaves the cache working afterwards.
        await #expect(throws: DirectoryError.self) {
            try await store.createTenant(slug: "us", displayName: "Again", organizationID: nil, logger: storeLogger)
        }
        _ = try await store.resolveTenant(slug: "us", logger: storeLogger)
        #expect(cache.count == 1)
    }

    @Test("the cache refuses an answer read before a write that began or ended since the lookup")
    func resolveCacheGenerations() throws {
        let cache = ResolveCache(capacity: 2)
        let tenant = TenantRecord(id: "ten_1", slug: "a", displayName: "A", organizationID: nil, createdAt: 0, updatedAt: 0, version: 1)
        guard case .miss(let before?) = cache.lookup(slug: "a") else { Issue.record("expected a miss with a generation"); return }
        cache.beginWrite()
        // While a write runs: no generation to fill with, and an older answer is refused.
        guard case .miss(nil) = cache.lookup(slug: "a") else { Issue.record("expected a miss without generation"); return }
        cache.fill(slug: "a", .init(tenant: tenant), generation: before)
        cache.endWrite()
        // After it: the answer read before is still refused.
        cache.fill(slug: "a", .init(tenant: tenant), generation: before)
        #expect(cache.count == 0)
        guard case .miss(let after?) = cache.lookup(slug: "a") else { Issue.record("expected a miss"); return }
        cache.fill(slug: "a", .init(tenant: tenant), generation: after)
        guard case .hit(let answer) = cache.lookup(slug: "a") else { Issue.record("expected a hit"); return }
        #expect(answer.tenant == tenant)
        // Bounded: at capacity it empties, then fills again.
        cache.fill(slug: "b", .init(tenant: tenant), generation: after)
        cache.fill(slug: "c", .init(tenant: tenant), generation: after)
        #expect(cache.count == 1)
    }

    @Test("the packed table behind the cache: every key found after growing, absent keys not, oversized records refused")
    func packedTable() {
        var table = PackedTable()
        for index in 0..<5_000 {
            #expect(table.insert("tenant-\(index)") { $0.integer(Int32(index)); $0.optionalString(index % 2 == 0 ? "org_\(index)" : nil) })
        }
        #expect(table.count == 5_000)
        // The same key again changes nothing.
        #expect(table.insert("tenant-7") { $0.integer(Int32(-1)); $0.optionalString(nil) })
        #expect(table.count == 5_000)
        for index in 0..<5_000 {
            let found = table.find("tenant-\(index)") { reader in (reader.integer(Int32.self), reader.optionalString()) }
            #expect(found?.0 == Int32(index))
            #expect(found?.1 == (index % 2 == 0 ? "org_\(index)" : nil))
        }
        #expect(table.find("tenant-5000") { $0.integer(Int32.self) } == nil)
        #expect(table.find("") { $0.integer(Int32.self) } == nil)
        #expect(!table.insert("huge") { $0.string(String(repeating: "x", count: 70_000)) })
        #expect(table.find("huge") { $0.string() } == nil)
        #expect(table.find("tenant-4999") { $0.integer(Int32.self) } == 4_999)
    }

    @Test("resolves racing writes never see an answer older than the last completed write")
    func resolveCacheUnderConcurrentWrites() async throws {
        let store = try self.makeStore()
        let tenant = try await store.createTenant(slug: "race", displayName: "v0", organizationID: nil, logger: storeLogger)
        let completed = CompletedWrites()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for version in 1...40 {
                    // Version n of the record is the n-th write's input: created at 1.
                    _ = try await store.updateTenant(id: tenant.id, displayName: "v\(version)", slug: nil, expectedVersion: UInt64(version), logger: storeLogger)
                    completed.value.store(version, ordering: .sequentiallyConsistent)
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    while completed.value.load(ordering: .sequentiallyConsistent) < 40 && !Task.isCancelled {
                        let floor = completed.value.load(ordering: .sequentiallyConsistent)
                        let seen = try await store.resolveTenant(slug: "race", logger: storeLogger).0.displayName
                        #expect(Int(seen.dropFirst())! >= floor)
                        // A cached answer returns without suspending: let the writer run.
                        await Task.yield()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.resolveTenant(slug: "race", logger: storeLogger).0.displayName == "v40")
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

    @Test("organization pages stop before their size would pass the limit, so that a page of large organizations fits in a frame")
    func organizationPagesBySize() async throws {
        let database = try DirectoryDatabase.inMemory()
        let filler = DirectoryStore(database: database)
        var organizations: [String] = []
        for index in 0..<5 {
            let id = try await filler.createOrganization(name: "Org \(index)", adminEmail: "a@x.example", logger: storeLogger).record.id
            for tenant in 0..<30 {
                _ = try await filler.createTenant(slug: "o\(index)-t\(tenant)", displayName: "T", organizationID: id, logger: storeLogger)
            }
            organizations.append(id)
        }
        let one = try await filler.organization(id: organizations[0], logger: storeLogger)
        // The bound is never below the organization's encoded size in a list (its entry's tag and length included).
        let encoded = try DirectoryV1.ListOrganizationsResponse(organizations: [DirectoryV1.Organization(one)]).wireBytes().count
        let bound = DirectoryStore.encodedSizeBound(one.record, tenantIDs: one.tenantIDs)
        #expect(bound >= encoded)
        #expect(bound <= encoded + 64 + 4 * one.tenantIDs.count)

        // Room for two organizations a page: 2, 2, 1, each once, in order.
        let store = DirectoryStore(database: database, organizationPageBytes: 2 * bound + bound / 2)
        var sizes: [Int] = []
        var listed: [String] = []
        var token = ""
        repeat {
            let page = try await store.listOrganizations(pageSize: 500, pageToken: token, namePrefix: "", logger: storeLogger)
            sizes.append(page.items.count)
            listed += page.items.map(\.record.id)
            #expect(page.items.allSatisfy { $0.tenantIDs.count == 30 })
            token = page.nextPageToken ?? ""
        } while !token.isEmpty
        #expect(sizes == [2, 2, 1])
        #expect(listed == organizations)
        // An organization larger than the limit alone still makes a page (the list always moves on).
        let tight = DirectoryStore(database: database, organizationPageBytes: 10)
        let first = try await tight.listOrganizations(pageSize: 500, pageToken: "", namePrefix: "", logger: storeLogger)
        #expect(first.items.map(\.record.id) == [organizations[0]])
        #expect(first.nextPageToken != nil)
        // The default holds a full page of these.
        #expect(try await filler.listOrganizations(pageSize: 500, pageToken: "", namePrefix: "", logger: storeLogger).items.count == 5)
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

    @Test("page tokens round trip; hand-made, truncated, edited or foreign tokens are refused")
    func pageTokens() throws {
        let key = Array(repeating: UInt8(7), count: 32)
        let token = PageToken(sortKey: "acme ü", id: "org_x")
        let encoded = token.encoded(key: key)
        #expect(try PageToken(decoding: encoded, key: key) == token)
        var edited = Array(encoded)
        edited[5] = edited[5] == "A" ? "B" : "A"
        let otherKey = Array(repeating: UInt8(8), count: 32)
        let refused = [
            "zz", "abc", "00", String(repeating: "ab", count: 3000), String(encoded.dropLast(3)), String(edited),
            token.encoded(key: otherKey), Base64URL.encode(Array("v1\u{0}acme\u{0}org_x".utf8)), encoded + "=",
        ]
        for garbage in refused {
            #expect(throws: DirectoryError.self, "\(garbage.prefix(40))") { try PageToken(decoding: garbage, key: key) }
        }
    }

    @Test("names: NFC and case folding make one name; invisible, bidi and oversized names are refused")
    func nameRules() async throws {
        let store = try self.makeStore()
        let pairs: [(String, String)] = [
            ("Zu\u{0308}rich AG", "Z\u{00FC}rich AG"),  // NFD and NFC
            ("E\u{0301}clair", "\u{00C9}CLAIR"),
            ("Straße GmbH", "STRASSE GMBH"),
            ("ΟΔΟΣ", "οδος"),                            // final and medial sigma
        ]
        for (first, second) in pairs {
            _ = try await store.createOrganization(name: first, adminEmail: "a@b.example", logger: storeLogger)
            await #expect(throws: DirectoryError.self, "\(second) must collide with \(first)") {
                try await store.createOrganization(name: second, adminEmail: "a@b.example", logger: storeLogger)
            }
        }
        let stored = try await store.listOrganizations(pageSize: 50, pageToken: "", namePrefix: "zü", logger: storeLogger)
        #expect(stored.items.map(\.record.name) == ["Z\u{00FC}rich AG"], "stored in NFC, found by a folded prefix")
        let refused = [
            "\u{200B}", "\u{FEFF}", "\u{3164}", "\u{2800}\u{2800}", "Acme\u{200B}Corp", "Acme\u{202E}proC",
            "Evil\u{2066}Org", "Line\u{2028}Break", "Tab\tName", String(repeating: "a", count: 201),
            "a" + String(repeating: "\u{0301}", count: 6), String(repeating: "a\u{0301}\u{0302}\u{0303}\u{0304}", count: 200),
        ]
        for name in refused {
            await #expect(throws: DirectoryError.self, "\(name.unicodeScalars.map { String($0.value, radix: 16) })") {
                try await store.createOrganization(name: name, adminEmail: "a@b.example", logger: storeLogger)
            }
        }
        _ = try await store.createOrganization(name: "Café ☕️ 東京", adminEmail: "a@b.example", logger: storeLogger)
    }

    @Test("emails: a real address shape, nothing else", arguments: [
        ("admin@acme.example", true), ("first.last+tag@sub.acme.co", true), ("o'brien@acme.example", true),
        ("a@xn--bcher-kva.example", true),
        ("a@1.2", false), ("<script>@acme.example", false), ("a\u{0007}b@acme.example", false), ("a b@acme.example", false),
        ("a@localhost", false), ("@acme.example", false), ("a@acme..example", false), ("a.@acme.example", false),
        ("a@-acme.example", false), ("a@acme.example.", false), ("a@acme.e", false), ("a@acme.123", false),
        ("\"quoted\"@acme.example", false), ("a@[127.0.0.1]", false),
    ])
    func emailRules(email: String, valid: Bool) throws {
        if valid {
            #expect(try DirectoryValidation.email(email) == email)
        } else {
            #expect(throws: DirectoryError.self) { try DirectoryValidation.email(email) }
        }
    }

    @Test("an idempotency key replays the first result; the same key with another request is refused")
    func idempotency() async throws {
        let store = try self.makeStore()
        let key = IdempotencyKey(key: "create-acme-1", fingerprint: [1, 2, 3])
        let first = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", idempotency: key, logger: storeLogger)
        let again = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", idempotency: key, logger: storeLogger)
        #expect(again == first, "the retry returns the first result instead of ALREADY_EXISTS or a second organization")
        #expect(try await store.listOrganizations(pageSize: 50, pageToken: "", namePrefix: "", logger: storeLogger).items.count == 1)
        let reused = IdempotencyKey(key: "create-acme-1", fingerprint: [9])
        await #expect(throws: DirectoryError.self) {
            try await store.createOrganization(name: "Other", adminEmail: "a@acme.example", idempotency: reused, logger: storeLogger)
        }
        let tenantKey = IdempotencyKey(key: "create-eu", fingerprint: [4])
        let tenant = try await store.createTenant(slug: "acme-eu", displayName: "EU", organizationID: nil, idempotency: tenantKey, logger: storeLogger)
        #expect(try await store.createTenant(slug: "acme-eu", displayName: "EU", organizationID: nil, idempotency: tenantKey, logger: storeLogger) == tenant)
    }

    @Test("remove of a tenant already in no organization succeeds (idempotent); of another's tenant is refused")
    func removeIsIdempotent() async throws {
        let store = try self.makeStore()
        let acme = try await store.createOrganization(name: "Acme", adminEmail: "a@acme.example", logger: storeLogger).record.id
        let other = try await store.createOrganization(name: "Other", adminEmail: "a@other.example", logger: storeLogger).record.id
        let free = try await store.createTenant(slug: "free", displayName: "Free", organizationID: nil, logger: storeLogger).id
        let taken = try await store.createTenant(slug: "taken", displayName: "Taken", organizationID: other, logger: storeLogger).id
        #expect(try await store.removeTenant(organizationID: acme, tenantID: free, logger: storeLogger).tenantIDs.isEmpty)
        await #expect(throws: DirectoryError(.failedPrecondition, "tenant \(taken) belongs to organization \(other), not \(acme)")) {
            try await store.removeTenant(organizationID: acme, tenantID: taken, logger: storeLogger)
        }
    }

    @Test("a write while another process holds the write lock is UNAVAILABLE, not INTERNAL")
    func busyDatabase() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("directory.sqlite").path
        let store = DirectoryStore(
            database: try DirectoryDatabase.open(path: path, configuration: SQLiteDatabaseConfiguration(busyTimeout: .milliseconds(50)))
        )
        // Another connection takes the write lock and holds it, on a thread of its own, until released.
        let holder = try DatabaseQueue(path: path)
        let locked = OneShotSignal()
        let release = DispatchSemaphore(value: 0)
        let holding = Thread {
            try? holder.inTransaction(.immediate) { _ in
                locked.fire()
                release.wait()
                return .rollback
            }
        }
        holding.start()
        await locked.wait()
        await #expect(throws: DirectoryError.databaseBusy) {
            try await store.createOrganization(name: "Blocked", adminEmail: "a@b.example", logger: storeLogger)
        }
        release.signal()
        _ = try await store.createOrganization(name: "Unblocked", adminEmail: "a@b.example", logger: storeLogger)
        #expect(DirectoryError.databaseBusy.code.rpcCode == .unavailable)
    }

    @Test("the database and its -wal and -shm files are private (0600), even in a world-readable folder")
    func fileModes() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("directory.sqlite").path
        let store = DirectoryStore(database: try DirectoryDatabase.open(path: path))
        _ = try await store.createOrganization(name: "Private", adminEmail: "a@b.example", logger: storeLogger)
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600, "\(file)")
        }
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("two services opening one new database at once both start")
    func concurrentOpen() async throws {
        // Racing openers both see no migration applied; the loser must wait and find them applied.
        for _ in 0..<16 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let path = folder.appendingPathComponent("directory.sqlite").path
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask { _ = try DirectoryDatabase.open(path: path) }
                }
                try await group.waitForAll()
            }
        }
    }
}
let storeLogger = Logger(label: "milestone.test.store") { _ in SwiftLogNoOpLogHandler() }

/// The last write a test's writer has completed, read by its concurrent readers.
private final class CompletedWrites: Sendable {
    let value = Atomic<Int>(0)
}
