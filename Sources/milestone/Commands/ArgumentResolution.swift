import MilestoneClient
import MilestoneWire

/// Organization and tenant arguments accept an id, or a name / slug.
extension DirectoryClient {
    /// `org_…` is an id; anything else is an organization name (case-insensitive).
    func organizationID(for argument: String) async throws -> String {
        if argument.hasPrefix("org_") { return argument }
        let lowered = argument.lowercased()
        let matches = try await self.allOrganizations(namePrefix: argument).filter { $0.name.lowercased() == lowered }
        guard let match = matches.first else {
            throw CLIError("NOT_FOUND: no organization is named \"\(argument)\"")
        }
        return match.id
    }

    /// `ten_…` is an id; anything else is a slug.
    func tenantID(for argument: String) async throws -> String {
        if argument.hasPrefix("ten_") { return argument }
        return try await self.resolveTenant(slug: argument).tenant.id
    }
}
