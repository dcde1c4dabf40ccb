/// The rules of PRODUCT.md §2 for names, slugs, emails and page sizes.
enum DirectoryValidation {
    static let maximumNameLength = 200
    static let defaultPageSize = 50
    static let maximumPageSize = 500

    /// Slugs that would collide with routes or confuse people.
    static let reservedSlugs: Set<String> = [
        "admin", "api", "app", "assets", "auth", "callback", "health", "internal", "login", "logout",
        "milestone", "new", "oauth", "root", "settings", "signin", "signup", "sso", "static", "status",
        "support", "system", "t", "www",
    ]

    /// A trimmed organization or display name, 1-200 characters.
    static func name(_ value: String, field: String) throws(DirectoryError) -> String {
        let trimmed = value.trimmingWhitespace
        if trimmed.isEmpty {
            throw .invalid(field, "must not be empty")
        }
        if trimmed.count > maximumNameLength {
            throw .invalid(field, "must be at most \(maximumNameLength) characters (got \(trimmed.count))")
        }
        if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalid(field, "must not contain control characters")
        }
        return trimmed
    }

    /// `^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`, not reserved.
    static func slug(_ value: String, field: String = "slug") throws(DirectoryError) -> String {
        let bytes = Array(value.utf8)
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
        }
        guard !bytes.isEmpty else {
            throw .invalid(field, "must not be empty")
        }
        guard bytes.count <= 63 else {
            throw .invalid(field, "must be at most 63 characters (got \(bytes.count))")
        }
        guard bytes.allSatisfy({ isAlphanumeric($0) || $0 == 0x2D }) else {
            throw .invalid(field, "\"\(value.prefix(70))\" may only hold lowercase letters, digits and hyphens")
        }
        guard isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!) else {
            throw .invalid(field, "\"\(value)\" must start and end with a letter or digit")
        }
        if reservedSlugs.contains(value) {
            throw .invalid(field, "\"\(value)\" is reserved")
        }
        return value
    }

    /// A plausible email address: one `@`, a local part of 1-64 characters, a domain of dot-separated
    /// labels with a dot in it, at most 254 characters, no spaces.
    static func email(_ value: String, field: String = "admin_email") throws(DirectoryError) -> String {
        let trimmed = value.trimmingWhitespace
        guard !trimmed.isEmpty else {
            throw .invalid(field, "must not be empty")
        }
        let problem = "\"\(trimmed.prefix(80))\" is not a valid email address"
        guard trimmed.utf8.count <= 254, !trimmed.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw .invalid(field, problem)
        }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last,
            (1...64).contains(local.utf8.count), !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else {
            throw .invalid(field, problem)
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
        }) else {
            throw .invalid(field, problem)
        }
        return trimmed
    }

    /// 0 means the default; otherwise 1-500.
    static func pageSize(_ value: Int32) throws(DirectoryError) -> Int {
        if value == 0 { return defaultPageSize }
        guard value > 0, value <= maximumPageSize else {
            throw .invalid("page_size", "must be between 1 and \(maximumPageSize) (got \(value))")
        }
        return Int(value)
    }

    /// A required id.
    static func id(_ value: String, field: String) throws(DirectoryError) -> String {
        guard !value.isEmpty else {
            throw .invalid(field, "is required")
        }
        return value
    }
}

extension String {
    var trimmingWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
