public import MilestoneRPC
public import MilestoneWire

/// Organizations and tenants by id, or by the name / slug people type.
extension DirectoryV1.Directory.Client {
    /// The id of the organization `argument` names: `org_…` is taken as an id; anything else is an
    /// organization name, matched case-insensitively.
    ///
    /// - Throws: ``RPCError`` (NOT_FOUND when no organization has that name).
    public func organizationID(for argument: String, options: CallOptions = .default) async throws -> String {
        if argument.hasPrefix("org_") { return argument }
        let lowered = argument.lowercased()
        for try await organization in self.organizations(namePrefix: argument, options: options)
        where organization.name.lowercased() == lowered {
            return organization.id
        }
        throw RPCError(code: .notFound, message: "no organization is named \"\(argument)\"")
    }

    /// The id of the tenant `argument` names: `ten_…` is taken as an id; anything else is a slug.
    ///
    /// - Throws: ``RPCError`` (NOT_FOUND when no tenant has that slug).
    public func tenantID(for argument: String, options: CallOptions = .default) async throws -> String {
        if argument.hasPrefix("ten_") { return argument }
        return try await self.resolveTenant(.init(slug: argument), options: options).tenant?.id ?? ""
    }
}
