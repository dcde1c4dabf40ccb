import Foundation

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

    /// The most UTF-8 bytes a name may take (200 characters of up to 4 bytes each).
    static let maximumNameBytes = 800
    /// The most combining marks one character of a name may carry.
    static let maximumCombiningMarks = 4

    /// A name people read (an organization's, a tenant's display name): NFC-normalized, trimmed, 1-200
    /// characters and at most 800 bytes, with something visible in it; no control, bidi-control or other
    /// invisible (default-ignorable) characters, no line breaks, at most 4 combining marks per character.
    static func name(_ value: String, field: String) throws(DirectoryError) -> String {
        let trimmed = value.precomposedStringWithCanonicalMapping.trimmingWhitespace
        if trimmed.isEmpty {
            throw .invalid(field, "must not be empty")
        }
        if trimmed.utf8.count > maximumNameBytes || trimmed.count > maximumNameLength {
            throw .invalid(field, "must be at most \(maximumNameLength) characters (got \(trimmed.count), \(trimmed.utf8.count) bytes)")
        }
        for scalar in trimmed.unicodeScalars {
            let properties = scalar.properties
            if properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                throw .invalid(field, "must not contain control characters or line breaks")
            }
            if properties.isBidiControl {
                throw .invalid(field, "must not contain bidirectional control characters (U+\(hex(scalar)))")
            }
            if properties.isDefaultIgnorableCodePoint && !Self.allowedInvisibles.contains(scalar) {
                throw .invalid(field, "must not contain invisible characters (U+\(hex(scalar)))")
            }
        }
        for character in trimmed {
            let marks = character.unicodeScalars.filter {
                [.nonspacingMark, .enclosingMark].contains($0.properties.generalCategory)
            }.count
            if marks > maximumCombiningMarks {
                throw .invalid(field, "has a character with \(marks) combining marks (at most \(maximumCombiningMarks))")
            }
        }
        guard trimmed.unicodeScalars.contains(where: Self.isVisible) else {
            throw .invalid(field, "must contain a visible character")
        }
        return trimmed
    }

    /// Invisible characters that are part of visible text: emoji presentation selectors and the joiner of
    /// emoji sequences.
    private static let allowedInvisibles: Set<Unicode.Scalar> = ["\u{FE0E}", "\u{FE0F}", "\u{200D}"]

    /// A letter, digit, punctuation or symbol that draws something (the Braille blank does not).
    private static func isVisible(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\u{2800}" || scalar.properties.isDefaultIgnorableCodePoint { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// How names are compared for uniqueness: NFC, then full case folding (upper-casing first maps "ß" to
    /// "SS" and both sigmas to "Σ"), so "Straße GmbH" = "STRASSE GMBH" and "Zürich" (NFC) = "Zürich" (NFD).
    static func nameKey(_ name: String) -> String {
        name.precomposedStringWithCanonicalMapping.uppercased().lowercased().precomposedStringWithCanonicalMapping
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

    /// An email address (RFC 5321/5322's common form): `local@domain`, at most 254 bytes; the local part
    /// 1-64 characters of letters, digits and ``!#$%&'*+/=?^_`{|}~-`` with single inner dots; the domain at
    /// least two dot-separated labels of letters, digits and inner hyphens (1-63 each), ending in a top-level
    /// domain of letters (or `xn--` punycode): so `a@1.2`, `<script>@x.example` and addresses with
    /// spaces or control characters are refused.
    static func email(_ value: String, field: String = "admin_email") throws(DirectoryError) -> String {
        let trimmed = value.trimmingWhitespace
        guard !trimmed.isEmpty else {
            throw .invalid(field, "must not be empty")
        }
        let shown = String(trimmed.unicodeScalars.filter { $0.properties.generalCategory != .control }.prefix(80))
        let problem = "\"\(shown)\" is not a valid email address"
        guard trimmed.utf8.count <= 254 else {
            throw .invalid(field, problem)
        }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last else {
            throw .invalid(field, problem)
        }
        let atext = Set("!#$%&'*+/=?^_`{|}~-".unicodeScalars)
        guard (1...64).contains(local.utf8.count), !local.hasPrefix("."), !local.hasSuffix("."), !local.contains(".."),
            local.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || atext.contains($0) || $0 == ".") })
        else {
            throw .invalid(field, problem)
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard domain.utf8.count <= 253, labels.count >= 2, labels.allSatisfy({ label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" }
        }), let tld = labels.last,
            tld.hasPrefix("xn--") || (tld.count >= 2 && tld.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        else {
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
