import ArgumentParser
import Foundation
import MilestoneClient
import MilestoneRPC
import MilestoneWire

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list, change, delete and resolve tenants.",
        subcommands: [Create.self, List.self, Get.self, Update.self, Delete.self, Resolve.self]
    )

    /// One tenant in the chosen format: in a table, its organization by name (looked up unless given).
    static func render(
        _ tenant: DirectoryV1.Tenant,
        organization: DirectoryV1.Organization?,
        _ directory: DirectoryV1.Directory.Client,
        _ global: GlobalOptions
    ) async throws -> String {
        switch global.output {
        case .json:
            return Rendering.jsonText(Rendering.json(tenant))
        case .table:
            var name = organization?.name
            if name == nil, !tenant.organizationID.isEmpty {
                name = try await directory.getOrganization(.init(id: tenant.organizationID)).name
            }
            return Rendering.details(tenant, organizationName: name)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its slug: lowercase letters, digits and hyphens, as in /t/SLUG/.") var slug: String
        @Option(help: "Its display name.") var name: String
        @Option(help: "The organization (name or id) to put it in.") var org: String?

        func run() async throws {
            try await self.global.show { directory in
                let organization = try await self.org.asyncMap { try await directory.organization(named: $0) }
                let tenant = try await directory.createTenant(
                    .init(slug: self.slug, displayName: self.name, organizationID: organization?.id ?? "")
                )
                return try await TenantCommand.render(tenant, organization: organization, directory, self.global)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants, by slug.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this organization's (name or id).") var org: String?
        @Flag(help: "Only tenants in no organization.") var unassigned = false
        @Option(help: "Only slugs starting with this.") var slugPrefix = ""
        @Option(help: "Fetch one page of this size (1-500) instead of all.") var pageSize: Int32?
        @Option(help: "Continue from a previous page (its next_page_token).") var pageToken = ""

        func validate() throws {
            if let pageSize, !(1...500).contains(pageSize) {
                throw ValidationError("--page-size must be between 1 and 500")
            }
            if self.unassigned && self.org != nil {
                throw ValidationError("--unassigned and --org exclude each other")
            }
        }

        func run() async throws {
            try await self.global.show { directory in
                let organization = try await self.org.asyncMap { try await directory.organization(named: $0) }
                let tenants: [DirectoryV1.Tenant]
                var next = ""
                if let pageSize = self.pageSize {
                    let page = try await directory.listTenants(
                        .init(
                            pageSize: pageSize, pageToken: self.pageToken, organizationID: organization?.id ?? "",
                            unassignedOnly: self.unassigned, slugPrefix: self.slugPrefix
                        )
                    )
                    tenants = page.tenants
                    next = page.nextPageToken
                } else {
                    tenants = try await directory.tenants(
                        organizationID: organization?.id ?? "", unassignedOnly: self.unassigned, slugPrefix: self.slugPrefix
                    ).collect()
                }
                switch self.global.output {
                case .json:
                    return Rendering.jsonText(["tenants": tenants.map(Rendering.json), "next_page_token": next] as [String: Any])
                case .table:
                    var names: [String: String] = [:]
                    if let organization {
                        names[organization.id] = organization.name
                    } else if tenants.contains(where: { !$0.organizationID.isEmpty }) {
                        names = Dictionary(try await directory.organizations().collect().map { ($0.id, $0.name) }) { first, _ in first }
                    }
                    let table = Rendering.tenantTable(tenants, organizationNames: names, wide: self.global.wide)
                    return next.isEmpty ? table : table + "\nmore: --page-token \(next)"
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its slug or id.") var tenant: String

        func run() async throws {
            try await self.global.show { directory in
                let (tenant, organization) = try await directory.tenant(named: self.tenant)
                return try await TenantCommand.render(tenant, organization: organization, directory, self.global)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a tenant's display name or slug.",
            discussion: "Without --expected-version, the current version is used; a concurrent change then fails with ABORTED."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its slug or id.") var tenant: String
        @Option(help: "The new display name.") var name: String?
        @Option(help: "The new slug.") var slug: String?
        @Option(help: "The version you read (1 or more).") var expectedVersion: UInt64?

        func validate() throws {
            if self.name == nil && self.slug == nil {
                throw ValidationError("nothing to change: give --name and/or --slug")
            }
            if self.expectedVersion == 0 {
                throw ValidationError("--expected-version must be 1 or more (leave it out to use the current version)")
            }
        }

        func run() async throws {
            try await self.global.show { directory in
                let (current, organization) = try await directory.tenant(named: self.tenant)
                let updated = try await directory.updateTenant(
                    .init(
                        id: current.id, displayName: self.name ?? "", slug: self.slug ?? "",
                        expectedVersion: self.expectedVersion ?? current.version
                    )
                )
                return try await TenantCommand.render(updated, organization: organization, directory, self.global)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a tenant.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its slug or id.") var tenant: String

        func run() async throws {
            try await self.global.show { directory in
                let tenant = try await directory.tenant(named: self.tenant).tenant
                _ = try await directory.deleteTenant(.init(id: tenant.id, expectedVersion: tenant.version))
                switch self.global.output {
                case .table: return "deleted \(tenant.slug)"
                case .json: return Rendering.jsonText(["deleted": tenant.id])
                }
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the tenant with a slug and its organization.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The slug.") var slug: String

        func run() async throws {
            try await self.global.show { directory in
                let resolved = try await directory.resolveTenant(.init(slug: self.slug))
                let tenant = resolved.tenant ?? DirectoryV1.Tenant()
                switch self.global.output {
                case .table:
                    let slugs = try await resolved.organization.asyncMap {
                        try await directory.tenants(organizationID: $0.id).collect().map(\.slug)
                    }
                    return Rendering.details(tenant, organizationName: resolved.organization?.name) + "\n\n"
                        + (resolved.organization.map { Rendering.details($0, tenantSlugs: slugs ?? []) } ?? "organization: -")
                case .json:
                    return Rendering.jsonText([
                        "tenant": Rendering.json(tenant),
                        "organization": resolved.organization.map(Rendering.json) ?? NSNull(),
                    ] as [String: Any])
                }
            }
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
