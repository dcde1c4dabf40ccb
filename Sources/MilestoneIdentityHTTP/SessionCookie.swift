/// The edge's cookies, all HttpOnly, SameSite=Lax, Path=/, and Secure (with the `__Host-` prefix, which pins
/// them to this host) unless the site is plain-http loopback; one per tenant so that two tenants in one
/// browser do not overwrite each other:
/// - the **session** cookie, `milestone_session_{slug}` (`milestone_session` for the instance), for the
///   session's lifetime;
/// - the **sign-in** cookie, `milestone_signin_{slug}`, holding the `state` of the sign-in this browser
///   started, for its 10 minutes: the callback must come back to the browser that started the sign-in (a
///   callback URL sent to someone else — login CSRF — is refused).
struct SessionCookie: Sendable {
    let secure: Bool
    /// `milestone_session` or `milestone_signin`.
    var base = "milestone_session"

    /// The sign-in cookie of the same site.
    var signIn: SessionCookie { SessionCookie(secure: self.secure, base: "milestone_signin") }

    func name(tenantSlug: String) -> String {
        (self.secure ? "__Host-" : "") + (tenantSlug.isEmpty ? self.base : "\(self.base)_\(tenantSlug)")
    }

    /// `Set-Cookie` for a value that lives `maxAge` seconds.
    func set(tenantSlug: String, token: String, maxAge: Int64) -> String {
        "\(self.name(tenantSlug: tenantSlug))=\(token); Path=/; Max-Age=\(max(0, maxAge)); HttpOnly; SameSite=Lax" + (self.secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that clears it.
    func clear(tenantSlug: String) -> String {
        "\(self.name(tenantSlug: tenantSlug))=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" + (self.secure ? "; Secure" : "")
    }

    /// The value in a `Cookie` header, if any.
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
