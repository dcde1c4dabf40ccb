import Foundation
import MilestoneWire

/// Table and JSON renderings of directory objects. JSON field names are stable: scripts rely on them.
/// Tables show what people recognise (tenant slugs, organization names); ids are in JSON and `--wide`.
enum Rendering {
    /// Cells longer than this are cut with "…" in tables (not with --wide).
    static let maximumCellWidth = 40

    static func json(_ organization: DirectoryV1.Organization) -> [String: Any] {
        [
            "id": organization.id,
            "name": organization.name,
            "admin_email": organization.adminEmail,
            "tenant_ids": organization.tenantIDs,
            "created_at": timestamp(organization.createdAtMicros),
            "updated_at": timestamp(organization.updatedAtMicros),
            "version": organization.version,
        ]
    }

    static func json(_ tenant: DirectoryV1.Tenant) -> [String: Any] {
        [
            "id": tenant.id,
            "slug": tenant.slug,
            "display_name": tenant.displayName,
            "organization_id": tenant.organizationID.isEmpty ? NSNull() : tenant.organizationID as Any,
            "created_at": timestamp(tenant.createdAtMicros),
            "updated_at": timestamp(tenant.updatedAtMicros),
            "version": tenant.version,
        ]
    }

    static func printJSON(_ value: Any) {
        print(self.jsonText(value))
    }

    static func jsonText(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// - Parameter tenantSlugs: the slugs of its tenants, in its order.
    static func details(_ organization: DirectoryV1.Organization, tenantSlugs: [String]) -> String {
        keyValues([
            ("id", organization.id),
            ("name", organization.name),
            ("admin email", organization.adminEmail),
            ("tenants", tenantSlugs.isEmpty ? "-" : tenantSlugs.joined(separator: ", ")),
            ("created", timestamp(organization.createdAtMicros)),
            ("updated", timestamp(organization.updatedAtMicros)),
            ("version", "\(organization.version)"),
        ])
    }

    static func details(_ tenant: DirectoryV1.Tenant, organizationName: String?) -> String {
        keyValues([
            ("id", tenant.id),
            ("slug", tenant.slug),
            ("display name", tenant.displayName),
            ("organization", organizationName ?? (tenant.organizationID.isEmpty ? "-" : tenant.organizationID)),
            ("created", timestamp(tenant.createdAtMicros)),
            ("updated", timestamp(tenant.updatedAtMicros)),
            ("version", "\(tenant.version)"),
        ])
    }

    /// - Parameter slugs: tenant slugs by tenant id.
    static func organizationTable(_ organizations: [DirectoryV1.Organization], slugs: [String: String], wide: Bool) -> String {
        let rows = organizations.map { organization -> [String] in
            let tenants = organization.tenantIDs.map { slugs[$0] ?? $0 }.joined(separator: ", ")
            let cells = [organization.name, organization.adminEmail, tenants.isEmpty ? "-" : tenants, "\(organization.version)"]
            return wide ? [organization.id] + cells : cells
        }
        let header = ["NAME", "ADMIN EMAIL", "TENANTS", "VERSION"]
        return table(header: wide ? ["ID"] + header : header, rows: rows, wide: wide)
    }

    /// - Parameter organizationNames: organization names by id.
    static func tenantTable(_ tenants: [DirectoryV1.Tenant], organizationNames: [String: String], wide: Bool) -> String {
        let rows = tenants.map { tenant -> [String] in
            let organization = tenant.organizationID.isEmpty ? "-" : organizationNames[tenant.organizationID] ?? tenant.organizationID
            let cells = [tenant.slug, tenant.displayName, organization, "\(tenant.version)"]
            return wide ? [tenant.id] + cells : cells
        }
        let header = ["SLUG", "DISPLAY NAME", "ORGANIZATION", "VERSION"]
        return table(header: wide ? ["ID"] + header : header, rows: rows, wide: wide)
    }

    static func table(header: [String], rows: [[String]], wide: Bool) -> String {
        let rows = wide ? rows : rows.map { $0.map(Self.cut) }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// A cell cut to ``maximumCellWidth`` characters, ending in "…" when cut.
    static func cut(_ cell: String) -> String {
        cell.count <= maximumCellWidth ? cell : String(cell.prefix(maximumCellWidth - 1)) + "…"
    }

    static func keyValues(_ pairs: [(String, String)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { key, value in key + ":" + String(repeating: " ", count: width - key.count + 1) + value }
            .joined(separator: "\n")
    }

    /// ISO 8601 in UTC, to the second.
    static func timestamp(_ micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }
}
