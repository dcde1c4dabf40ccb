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

    /// Prints one organization in the chosen format.
    static func show(_ organization: DirectoryV1.Organization, _ output: OutputFormat) {
        switch output {
        case .table: print(Rendering.details(organization))
        case .json: Rendering.printJSON(Rendering.json(organization))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The organization's name (1-200 characters, unique).") var name: String
        @Option(help: "The administrator's email address.") var adminEmail: String

        func run() async throws {
            let organization = try await self.global.withDirectory { directory in
                try await directory.createOrganization(.init(name: self.name, adminEmail: self.adminEmail))
            }
            OrganizationCommand.show(organization, self.global.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organizations, by name.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only names starting with this.") var namePrefix = ""
        @Option(help: "Fetch one page of this size (1-500) instead of all.") var pageSize: Int32?
        @Option(help: "Continue from a previous page.") var pageToken = ""

        func validate() throws {
            if let pageSize, !(1...500).contains(pageSize) {
                throw ValidationError("--page-size must be between 1 and 500")
            }
        }

        func run() async throws {
            let (organizations, next) = try await self.global.withDirectory { directory -> ([DirectoryV1.Organization], String) in
                if let pageSize = self.pageSize {
                    let page = try await directory.listOrganizations(
                        .init(pageSize: pageSize, pageToken: self.pageToken, namePrefix: self.namePrefix)
                    )
                    return (page.organizations, page.nextPageToken)
                }
                return (try await directory.organizations(namePrefix: self.namePrefix).collect(), "")
            }
            switch self.global.output {
            case .table: print(Rendering.organizationTable(organizations))
            case .json: Rendering.printJSON(organizations.map(Rendering.json))
            }
            if !next.isEmpty { printError("more: --page-token \(next)") }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an organization.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its id or name.") var organization: String

        func run() async throws {
            let organization = try await self.global.withDirectory { directory in
                try await directory.getOrganization(.init(id: try await directory.organizationID(for: self.organization)))
            }
            OrganizationCommand.show(organization, self.global.output)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename an organization or change its admin email.",
            discussion: "Without --expected-version, the current version is read first; a concurrent change then fails with ABORTED."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its id or name.") var organization: String
        @Option(help: "The new name.") var name: String?
        @Option(help: "The new admin email.") var adminEmail: String?
        @Option(help: "The version you read; the update fails with ABORTED if it changed.") var expectedVersion: UInt64?

        func validate() throws {
            if self.name == nil && self.adminEmail == nil {
                throw ValidationError("nothing to change: give --name and/or --admin-email")
            }
        }

        func run() async throws {
            let organization = try await self.global.withDirectory { directory in
                let id = try await directory.organizationID(for: self.organization)
                var version = self.expectedVersion ?? 0
                if version == 0 { version = try await directory.getOrganization(.init(id: id)).version }
                return try await directory.updateOrganization(
                    .init(id: id, name: self.name ?? "", adminEmail: self.adminEmail ?? "", expectedVersion: version)
                )
            }
            OrganizationCommand.show(organization, self.global.output)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an organization.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its id or name.") var organization: String
        @Flag(help: "Unassign its tenants (required when it has any).") var unassignTenants = false

        func run() async throws {
            let (id, unassigned) = try await self.global.withDirectory { directory in
                let id = try await directory.organizationID(for: self.organization)
                return (
                    id,
                    try await directory.deleteOrganization(.init(id: id, unassignTenants: self.unassignTenants)).unassignedTenantIDs
                )
            }
            switch self.global.output {
            case .table: print("deleted \(id)" + (unassigned.isEmpty ? "" : "; unassigned \(unassigned.joined(separator: ", "))"))
            case .json: Rendering.printJSON(["deleted": id, "unassigned_tenant_ids": unassigned] as [String: Any])
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
            @Argument(help: "The organization's id or name.") var organization: String
            @Argument(help: "Tenant ids or slugs.") var tenants: [String] = []
            @Flag(help: "Take tenants that belong to another organization.") var move = false

            func run() async throws {
                let organization = try await self.global.withDirectory { directory in
                    let id = try await directory.organizationID(for: self.organization)
                    var tenantIDs: [String] = []
                    for tenant in self.tenants { tenantIDs.append(try await directory.tenantID(for: tenant)) }
                    return try await directory.setOrganizationTenants(
                        .init(organizationID: id, tenantIDs: tenantIDs, moveFromOtherOrganizations: self.move)
                    )
                }
                OrganizationCommand.show(organization, self.global.output)
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add one tenant to the organization.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The organization's id or name.") var organization: String
            @Argument(help: "The tenant's id or slug.") var tenant: String
            @Flag(help: "Take it from another organization.") var move = false

            func run() async throws {
                let organization = try await self.global.withDirectory { directory in
                    try await directory.addTenant(
                        .init(
                            organizationID: try await directory.organizationID(for: self.organization),
                            tenantID: try await directory.tenantID(for: self.tenant),
                            moveFromOtherOrganization: self.move
                        )
                    )
                }
                OrganizationCommand.show(organization, self.global.output)
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove one tenant from the organization.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The organization's id or name.") var organization: String
            @Argument(help: "The tenant's id or slug.") var tenant: String

            func run() async throws {
                let organization = try await self.global.withDirectory { directory in
                    try await directory.removeTenant(
                        .init(
                            organizationID: try await directory.organizationID(for: self.organization),
                            tenantID: try await directory.tenantID(for: self.tenant)
                        )
                    )
                }
                OrganizationCommand.show(organization, self.global.output)
            }
        }
    }
}
