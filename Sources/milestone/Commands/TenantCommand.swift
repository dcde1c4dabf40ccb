import ArgumentParser
import MilestoneClient
import MilestoneRPC
import Foundation
import MilestoneWire

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list, change, delete and resolve tenants.",
        subcommands: [Create.self, List.self, Get.self, Update.self, Delete.self, Resolve.self]
    )

    static func show(_ tenant: DirectoryV1.Tenant, _ output: OutputFormat) {
        switch output {
        case .table: print(Rendering.details(tenant))
        case .json: Rendering.printJSON(Rendering.json(tenant))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its slug: lowercase letters, digits and hyphens, as in /t/SLUG/.") var slug: String
        @Option(help: "Its display name.") var name: String
        @Option(help: "The organization (id or name) to put it in.") var org: String?

        func run() async throws {
            let tenant = try await self.global.withDirectory { directory in
                let organizationID = try await self.org.asyncMap { try await directory.organizationID(for: $0) }
                return try await directory.createTenant(
                    .init(slug: self.slug, displayName: self.name, organizationID: organizationID ?? "")
                )
            }
            TenantCommand.show(tenant, self.global.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants, by slug.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this organization's (id or name).") var org: String?
        @Flag(help: "Only tenants in no organization.") var unassigned = false
        @Option(help: "Only slugs starting with this.") var slugPrefix = ""
        @Option(help: "Fetch one page of this size (1-500) instead of all.") var pageSize: Int32?
        @Option(help: "Continue from a previous page.") var pageToken = ""

        func validate() throws {
            if let pageSize, !(1...500).contains(pageSize) {
                throw ValidationError("--page-size must be between 1 and 500")
            }
            if self.unassigned && self.org != nil {
                throw ValidationError("--unassigned and --org exclude each other")
            }
        }

        func run() async throws {
            let (tenants, next) = try await self.global.withDirectory { directory -> ([DirectoryV1.Tenant], String) in
                let organizationID = try await self.org.asyncMap { try await directory.organizationID(for: $0) } ?? ""
                var all: [DirectoryV1.Tenant] = []
                var token = self.pageToken
                repeat {
                    let page = try await directory.listTenants(
                        .init(
                            pageSize: self.pageSize ?? 500, pageToken: token, organizationID: organizationID,
                            unassignedOnly: self.unassigned, slugPrefix: self.slugPrefix
                        )
                    )
                    all += page.tenants
                    token = page.nextPageToken
                } while self.pageSize == nil && !token.isEmpty
                return (all, token)
            }
            switch self.global.output {
            case .table: print(Rendering.tenantTable(tenants))
            case .json: Rendering.printJSON(tenants.map(Rendering.json))
            }
            if !next.isEmpty { printError("more: --page-token \(next)") }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its id or slug.") var tenant: String

        func run() async throws {
            let tenant = try await self.global.withDirectory { directory in
                try await directory.getTenant(.init(id: try await directory.tenantID(for: self.tenant)))
            }
            TenantCommand.show(tenant, self.global.output)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a tenant's display name or slug.",
            discussion: "Without --expected-version, the current version is read first; a concurrent change then fails with ABORTED."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its id or slug.") var tenant: String
        @Option(help: "The new display name.") var name: String?
        @Option(help: "The new slug.") var slug: String?
        @Option(help: "The version you read.") var expectedVersion: UInt64?

        func validate() throws {
            if self.name == nil && self.slug == nil {
                throw ValidationError("nothing to change: give --name and/or --slug")
            }
        }

        func run() async throws {
            let tenant = try await self.global.withDirectory { directory in
                let id = try await directory.tenantID(for: self.tenant)
                var version = self.expectedVersion ?? 0
                if version == 0 { version = try await directory.getTenant(.init(id: id)).version }
                return try await directory.updateTenant(
                    .init(id: id, displayName: self.name ?? "", slug: self.slug ?? "", expectedVersion: version)
                )
            }
            TenantCommand.show(tenant, self.global.output)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a tenant.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Its id or slug.") var tenant: String

        func run() async throws {
            let id = try await self.global.withDirectory { directory in
                let id = try await directory.tenantID(for: self.tenant)
                _ = try await directory.deleteTenant(.init(id: id))
                return id
            }
            switch self.global.output {
            case .table: print("deleted \(id)")
            case .json: Rendering.printJSON(["deleted": id])
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the tenant with a slug and its organization.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The slug.") var slug: String

        func run() async throws {
            let (tenant, organization) = try await self.global.withDirectory { directory in
                let resolved = try await directory.resolveTenant(.init(slug: self.slug))
                return (resolved.tenant ?? DirectoryV1.Tenant(), resolved.organization)
            }
            switch self.global.output {
            case .table:
                print(Rendering.details(tenant))
                print("")
                print(organization.map(Rendering.details) ?? "organization: -")
            case .json:
                Rendering.printJSON([
                    "tenant": Rendering.json(tenant),
                    "organization": organization.map(Rendering.json) ?? NSNull(),
                ] as [String: Any])
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
