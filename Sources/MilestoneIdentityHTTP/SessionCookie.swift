/// The session cookie: HttpOnly, SameSite=Lax, Path=/, Secure unless the site is plain-http loopback; one
/// per tenant (`milestone_session_{slug}`, `milestone_session` for the instance) so that sessions of two
/// tenants in one browser do not overwrite each other. With Secure, the `__Host-` prefix pins it to this host.
struct SessionCookie: Sendable {
    let secure: Bool

    func name(tenantSlug: String) -> String {
        (self.secure ? "__Host-" : "") + (tenantSlug.isEmpty ? "milestone_session" : "milestone_session_\(tenantSlug)")
    }

    /// `Set-Cookie` for a new session that ends at `expiresAtSeconds` (since 1970).
    func set(tenantSlug: String, token: String, maxAge: Int64) -> String {
        "\(self.name(tenantSlug: tenantSlug))=\(token); Path=/; Max-Age=\(max(0, maxAge)); HttpOnly; SameSite=Lax" + (self.secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that clears it.
    func clear(tenantSlug: String) -> String {
        "\(self.name(tenantSlug: tenantSlug))=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" + (self.secure ? "; Secure" : "")
    }

    /// The token in a `Cookie` header, if any.
    func token(tenantSlug: String, cookieHeader: String?) -> String? {
        guard let cookieHeader else { return nil }
        let name = self.name(tenantSlug: tenantSlug)
        for pair in cookieHeader.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingWhitespace() == name {
                let value = parts[1].trimmingWhitespace()
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
