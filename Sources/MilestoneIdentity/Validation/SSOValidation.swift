import Foundation

/// The rules of an SSO configuration's fields.
enum SSOValidation {
    /// A GUID (8-4-4-4-12 hex digits), as Entra ID shows client and directory ids.
    static func isGUID(_ value: String) -> Bool {
        let groups = value.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// A DNS domain of at least two labels (a verified domain such as `contoso.onmicrosoft.com`).
    static func isDomain(_ value: String) -> Bool {
        let labels = value.split(separator: ".", omittingEmptySubsequences: false)
        guard value.utf8.count <= 253, labels.count >= 2, let last = labels.last, last.allSatisfy(\.isLetter) else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }
        }
    }

    /// An Entra application (client) id: a GUID.
    static func clientID(_ value: String, field: String = "client_id") throws(IdentityError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .invalid(field, "is required") }
        guard trimmed.utf8.count <= 256, !trimmed.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw .invalid(field, "\"\(trimmed.prefix(60))\" is not a client id")
        }
        return trimmed
    }

    /// An Entra client id must be a GUID (the "Application (client) ID" of the App Registration).
    static func entraClientID(_ value: String) throws(IdentityError) -> String {
        let id = try self.clientID(value)
        guard self.isGUID(id) else {
            throw .invalid("client_id", "\"\(id.prefix(60))\" is not a GUID: copy the Application (client) ID of the App Registration")
        }
        return id.lowercased()
    }

    /// An Entra directory (tenant) id: a GUID or a verified domain.
    static func directoryTenantID(_ value: String) throws(IdentityError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .invalid("directory_tenant_id", "is required for Microsoft Entra ID") }
        guard self.isGUID(trimmed) || self.isDomain(trimmed.lowercased()) else {
            throw .invalid(
                "directory_tenant_id",
                "\"\(trimmed.prefix(60))\" is neither a GUID nor a domain: copy the Directory (tenant) ID, or use a verified domain such as contoso.onmicrosoft.com"
            )
        }
        return trimmed.lowercased()
    }

    /// An issuer (or authority) URL: https, or plain http for loopback hosts only; no query or fragment.
    static func httpsURL(_ value: String, field: String) throws(IdentityError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .invalid(field, "is required") }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.query == nil, components.fragment == nil,
            components.user == nil, components.password == nil
        else {
            throw .invalid(field, "\"\(trimmed.prefix(100))\" is not an absolute URL without query or fragment")
        }
        switch scheme {
        case "https":
            break
        case "http" where self.isLoopback(host):
            break
        case "http":
            throw .invalid(field, "\"\(trimmed.prefix(100))\" must use https (plain http only for loopback hosts)")
        default:
            throw .invalid(field, "\"\(trimmed.prefix(100))\" must be an https URL")
        }
        return trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
    }

    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// A client secret: required, at most 1 KiB, no NUL or line breaks.
    static func secret(_ value: String) throws(IdentityError) -> String {
        guard !value.isEmpty else { throw .invalid("client_secret", "is required (it is never shown again once set)") }
        guard value.utf8.count <= 1024, !value.contains(where: { $0.isNewline }) else {
            throw .invalid("client_secret", "must be at most 1024 bytes on one line")
        }
        return value
    }

    /// A YYYY-MM-DD date (UTC), or nil for "".
    static func date(_ value: String, field: String = "secret_expires_on") throws(IdentityError) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        guard Self.day(trimmed) != nil else { throw .invalid(field, "\"\(trimmed.prefix(40))\" is not a date as YYYY-MM-DD") }
        return trimmed
    }

    /// The day number (days since 1970-01-01) of a YYYY-MM-DD date.
    static func day(_ text: String) -> Int? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month
        else { return nil }
        return Int(date.timeIntervalSince1970 / 86_400)
    }
}
