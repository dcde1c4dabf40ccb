import Foundation

/// The service's messages name its request fields; the CLI user typed flags. This puts the flags in.
enum Messages {
    private static let replacements: [(String, String)] = [
        ("delete with unassign_tenants to unassign them", "add --unassign-tenants to unassign them"),
        ("set the move flag to move it", "add --move to move it"),
        ("set the move flag", "add --move"),
        ("unassign_tenants", "--unassign-tenants"),
        ("move_from_other_organizations", "--move"),
        ("move_from_other_organization", "--move"),
        ("admin_email", "--admin-email"),
        ("expected_version", "--expected-version"),
        ("display_name", "--name"),
        ("page_token", "--page-token"),
        ("page_size", "--page-size"),
        ("name_prefix", "--name-prefix"),
        ("slug_prefix", "--slug-prefix"),
    ]

    /// `message` with request field names replaced by the flags that set them.
    static func forCLI(_ message: String) -> String {
        var text = message
        for (field, flag) in Self.replacements {
            text = text.replacingOccurrences(of: field, with: flag)
        }
        if text.hasPrefix("name: ") { text = "--name: " + text.dropFirst(6) }
        return text
    }
}
