import Foundation
public import MilestoneRPC
public import MilestoneWire

/// Organizations and tenants by id, or by the name / slug people type.
extension DirectoryV1.Directory.Client {
    /// Whether `text` has the shape of an id the directory issues: `prefix` and 20 base32 characters.
    static func looksLikeID(_ text: String, prefix: String) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let rest = text.utf8.dropFirst(prefix.utf8.count)
        return rest.count == 20 && rest.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A)
        }
    }

    /// The organization `argument` names (surrounding spaces ignored): an id (`org_` and 20 base32
    /// characters) if one exists, otherwise the organization with that name, matched as the service
    /// compares names (case-insensitively). So an organization named `org_partners` is found by its name.
    ///
    /// - Throws: ``RPCError`` (NOT_FOUND when nothing has that id or name).
    public func organization(named argument: String, options: CallOptions = .default) async throws -> DirectoryV1.Organization {
        let argument = argument.trimmingCharacters(in: .whitespacesAndNewlines)
        if Self.looksLikeID(argument, prefix: "org_") {
            do {
                return try await self.getOrganization(.init(id: argument), options: options)
            } catch let error as RPCError where error.code == .notFound {
                // Not an id after all: try it as a name.
            }
        }
        let lowered = argument.lowercased()
        for try await organization in self.organizations(namePrefix: argument, options: options)
        where organization.name.lowercased() == lowered || organization.name.uppercased().lowercased() == argument.uppercased().lowercased() {
            return organization
        }
        throw RPCError(code: .notFound, message: "no organization has the id or name \"\(argument.prefix(200))\"")
    }

    /// The id of the organization `argument` names; see ``organization(named:options:)``.
    public func organizationID(for argument: String, options: CallOptions = .default) async throws -> String {
        try await self.organization(named: argument, options: options).id
    }

    /// The tenant `argument` names (surrounding spaces ignored): `ten_…` is an id; anything else a slug. A
    /// slug is resolved in one call, which also returns the tenant's organization.
    ///
    /// - Throws: ``RPCError`` (NOT_FOUND when no tenant has that id or slug).
    public func tenant(named argument: String, options: CallOptions = .default) async throws -> (
        tenant: DirectoryV1.Tenant, organization: DirectoryV1.Organization?
    ) {
        let argument = argument.trimmingCharacters(in: .whitespacesAndNewlines)
        if argument.hasPrefix("ten_") {
            let tenant = try await self.getTenant(.init(id: argument), options: options)
            return (tenant, nil)
        }
        let resolved = try await self.resolveTenant(.init(slug: argument), options: options)
        return (resolved.tenant ?? DirectoryV1.Tenant(), resolved.organization)
    }

    /// The id of the tenant `argument` names; see ``tenant(named:options:)``.
    public func tenantID(for argument: String, options: CallOptions = .default) async throws -> String {
        try await self.tenant(named: argument, options: options).tenant.id
    }
}
