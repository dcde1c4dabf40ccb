import Foundation

/// Where a sign-in may land: a path on this site, never another one (no open redirect).
enum ReturnPath {
    /// `text` when it is a relative path (`/`, `/projects?tab=1`), "/" when empty.
    ///
    /// - Throws: ``SignInError`` invalid request for `//evil.com`, `/\evil.com`, `https://evil.com`, encoded
    ///   variants (`%2F%2Fevil.com`, checked again after decoding), control characters, or over 2 KiB.
    static func checked(_ text: String) throws(SignInError) -> String {
        guard !text.isEmpty else { return "/" }
        func refuse() -> SignInError {
            SignInError(
                .invalidRequest, "The page to return to after signing in is not a path on this site.",
                fix: "Use a relative path such as /projects."
            )
        }
        guard text.utf8.count <= 2048 else { throw refuse() }
        var candidate = text
        for _ in 0..<3 {
            guard candidate.hasPrefix("/"),
                !candidate.hasPrefix("//"),
                !candidate.hasPrefix("/\\"),
                !candidate.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" })
            else { throw refuse() }
            guard let decoded = candidate.removingPercentEncoding, decoded != candidate else { break }
            candidate = decoded
        }
        return text
    }
}
