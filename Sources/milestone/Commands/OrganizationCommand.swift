import ArgumentParser
import MilestoneClient
import MilestoneRPC
import MilestoneWire

struct OrganizationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org",
        abstract: "Create, list, change and delete organizations, and set their tenants.",
        subcommands: [Create.self, List.self, Get.self, Update.self, Delete.self, Tenants.self]
    )

    /// One organization in the chosen format: in a table, its tenants by slug.
    static func render(
        _ organization: DirectoryV1.Organization,
        _ directory: DirectoryV1.Directory.Client,
        _ global: GlobalOptions
    ) async throws -> String {
        switch global.output {
        case .json:
            return Rendering.jsonText(Rendering.json(organization))
        case .table:
            let slugs = organization.tenantIDs.isEmpty
                ? [] : try await directory.tenants(organizationID: organization.id).collect().map(\.slug)
            return Rendering.details(organization, tenantSlugs: slugs)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The organization's name (1-200 characters, unique).") var name: String
        @Option(help: "The administrator's email address.") var adminEmail: String

        func run() async throws {
            try await self.global.show { directory in
                let organization = try await directory.createOrganization(.init(name: self.name, adminEmail: self.adminEmail))
                return try await OrganizationCommand.render(organization, directory, self.global)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organizations, by name.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only names starting with this.") var namePrefix = ""
        @Option(help: "Fetch one page of this size (1-500) instead of all.") var pageSize: Int32?
        @Option(help: "Continue from a previous page (its next_page_token).") var pageToken = ""

        func validate() throws {
            if let pageSize, !(1...500).contains(pageSize) {
                throw ValidationError("--page-size must be between 1 and 500")
            }
        }

        func run() async throws {
            let text = try await self.global.withDirectory { directory -> String in
                let organizations: [DirectoryV1.Organization]
                var next = ""
                if let pageSize = self.pageSize {
                    let page = try await directory.listOrganizations(
                        .init(pageSize: pageSize, pageToken: self.pageToken, namePrefix: self.namePrefix)
                    )
                    organizations = page.organizations
                    next = page.nextPageToken
                } else {
                    organizations = try await directory.organizations(namePrefix: self.namePrefix).collect()
                }
                switch self.global.output {
                case .json:
                    return Rendering.jsonText([
                        "organizations": organizations.map(Rendering.json), "next_page_token": next,
                    ] as [String: Any])
                case .table:
                    let slugs = organizations.allSatisfy(\.tenantIDs.isEmpty)
                        ? [:] : try await Dictionary(directory.tenants().collect().map { ($0.id, $0.slug) }) { first, _ in first }
                    let table = Rendering.organizationTable(organizations, slugs: slugs, wide: self.global.wide)
                    return next.isEmpty ? table : table + "\nmore: --page-token \(next)"
                }
            }
            print(text)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an organization.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its name or id.") var organization: String

        func run() async throws {
            try await self.global.show { directory in
                try await OrganizationCommand.render(try await directory.organization(named: self.organization), directory, self.global)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename an organization or change its admin email.",
            discussion: "Without --expected-version, the current version is used; a concurrent change then fails with ABORTED."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its name or id.") var organization: String
        @Option(help: "The new name.") var name: String?
        @Option(help: "The new admin email.") var adminEmail: String?
        @Option(help: "The version you read (1 or more); the update fails with ABORTED if it changed.") var expectedVersion: UInt64?

        func validate() throws {
            if self.name == nil && self.adminEmail == nil {
                throw ValidationError("nothing to change: give --name and/or --admin-email")
            }
            if self.expectedVersion == 0 {
                throw ValidationError("--expected-version must be 1 or more (leave it out to use the current version)")
            }
        }

        func run() async throws {
            try await self.global.show { directory in
                let current = try await directory.organization(named: self.organization)
                let updated = try await directory.updateOrganization(
                    .init(
                        id: current.id, name: self.name ?? "", adminEmail: self.adminEmail ?? "",
                        expectedVersion: self.expectedVersion ?? current.version
                    )
                )
                return try await OrganizationCommand.render(updated, directory, self.global)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an organization.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its name or id.") var organization: String
        @Flag(help: "Unassign its tenants (required when it has any).") var unassignTenants = false

        func run() async throws {
            try await self.global.show { directory in
                let organization = try await directory.organization(named: self.organization)
                let slugs = try await directory.tenants(organizationID: organization.id).collect().map(\.slug)
                let unassigned = try await directory.deleteOrganization(
                    .init(id: organization.id, unassignTenants: self.unassignTenants, expectedVersion: organization.version)
                ).unassignedTenantIDs
                switch self.global.output {
                case .table:
                    return "deleted \(organization.name)" + (unassigned.isEmpty ? "" : "; unassigned \(slugs.joined(separator: ", "))")
                case .json:
                    return Rendering.jsonText(["deleted": organization.id, "unassigned_tenant_ids": unassigned] as [String: Any])
                }
            }
        }
    }

    struct Tenants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tenants",
            abstract: "Set, add or remove an organization's tenants.",
            subcommands: [Set.self, Add.self, Remove.self]
        )

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Replace the organization's tenants with exactly these (none: remove all).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The organization's name or id.") var organization: String
            @Argument(help: "Tenant slugs or ids.") var tenants: [String] = []
            @Flag(help: "Take tenants that belong to another organization.") var move = false

            func run() async throws {
                try await self.global.show { directory in
                    let before = try await directory.organization(named: self.organization)
                    let beforeSlugs = Dictionary(
                        try await directory.tenants(organizationID: before.id).collect().map { ($0.id, $0.slug) }
                    ) { first, _ in first }
                    var chosen: [(id: String, slug: String)] = []
                    for argument in self.tenants {
                        let tenant = try await directory.tenant(named: argument).tenant
                        chosen.append((tenant.id, tenant.slug))
                    }
                    let after = try await directory.setOrganizationTenants(
                        .init(organizationID: before.id, tenantIDs: chosen.map(\.id), moveFromOtherOrganizations: self.move)
                    )
                    let added = chosen.filter { beforeSlugs[$0.id] == nil }.map(\.slug).sorted()
                    let removed = before.tenantIDs.filter { !after.tenantIDs.contains($0) }.map { beforeSlugs[$0] ?? $0 }.sorted()
                    let rendered = try await OrganizationCommand.render(after, directory, self.global)
                    guard self.global.output == .table else { return rendered }
                    let summary = "added: \(added.isEmpty ? "-" : added.joined(separator: ", "))\n"
                        + "removed: \(removed.isEmpty ? "-" : removed.joined(separator: ", "))"
                    return summary + "\n\n" + rendered
                }
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add one tenant to the organization.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The organization's name or id.") var organization: String
            @Argument(help: "The tenant's slug or id.") var tenant: String
            @Flag(help: "Take it from another organization.") var move = false

            func run() async throws {
                try await self.global.show { directory in
                    let organization = try await directory.addTenant(
                        .init(
                            organizationID: try await directory.organizationID(for: self.organization),
                            tenantID: try await directory.tenantID(for: self.tenant),
                            moveFromOtherOrganization: self.move
                        )
                    )
                    return try await OrganizationCommand.render(organization, directory, self.global)
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove one tenant from the organization.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The organization's name or id.") var organization: String
            @Argument(help: "The tenant's slug or id.") var tenant: String

            func run() async throws {
                try await self.global.show { directory in
                    let organization = try await directory.removeTenant(
                        .init(
                            organizationID: try await directory.organizationID(for: self.organization),
                            tenantID: try await directory.tenantID(for: self.tenant)
                        )
                    )
                    return try await OrganizationCommand.render(organization, directory, self.global)
                }
            }
        }
    }
}
