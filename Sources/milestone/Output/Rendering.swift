import Foundation
import MilestoneWire

/// Table and JSON renderings of directory objects. JSON field names are stable: scripts rely on them.
enum Rendering {
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
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        print(String(decoding: data, as: UTF8.self))
    }

    static func details(_ organization: DirectoryV1.Organization) -> String {
        keyValues([
            ("id", organization.id),
            ("name", organization.name),
            ("admin email", organization.adminEmail),
            ("tenants", organization.tenantIDs.isEmpty ? "-" : organization.tenantIDs.joined(separator: ", ")),
            ("created", timestamp(organization.createdAtMicros)),
            ("updated", timestamp(organization.updatedAtMicros)),
            ("version", "\(organization.version)"),
        ])
    }

    static func details(_ tenant: DirectoryV1.Tenant) -> String {
        keyValues([
            ("id", tenant.id),
            ("slug", tenant.slug),
            ("display name", tenant.displayName),
            ("organization", tenant.organizationID.isEmpty ? "-" : tenant.organizationID),
            ("created", timestamp(tenant.createdAtMicros)),
            ("updated", timestamp(tenant.updatedAtMicros)),
            ("version", "\(tenant.version)"),
        ])
    }

    static func organizationTable(_ organizations: [DirectoryV1.Organization]) -> String {
        table(
            header: ["ID", "NAME", "ADMIN EMAIL", "TENANTS", "VERSION"],
            rows: organizations.map { [$0.id, $0.name, $0.adminEmail, "\($0.tenantIDs.count)", "\($0.version)"] }
        )
    }

    static func tenantTable(_ tenants: [DirectoryV1.Tenant]) -> String {
        table(
            header: ["ID", "SLUG", "DISPLAY NAME", "ORGANIZATION", "VERSION"],
            rows: tenants.map { [$0.id, $0.slug, $0.displayName, $0.organizationID.isEmpty ? "-" : $0.organizationID, "\($0.version)"] }
        )
    }

    static func table(header: [String], rows: [[String]]) -> String {
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
