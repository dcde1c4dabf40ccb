/// The edge's HTML: plain, accessible pages without JavaScript; every interpolated value escaped.
enum Pages {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func layout(title: String, _ body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:30rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}
        h1{font-size:1.5rem}.muted{color:#555}.fix{background:#f4f4f4;padding:.75rem 1rem;border-left:4px solid #0067b8}
        .button{display:inline-block;background:#0067b8;color:#fff;padding:.7rem 1.2rem;border:0;font-size:1rem;text-decoration:none;cursor:pointer}
        .button:focus{outline:3px solid #000;outline-offset:2px}code{font-size:.95em}
        </style>
        </head>
        <body>
        <main>
        \(body)
        </main>
        </body>
        </html>
        """
    }

    /// The login screen: the tenant's name and a "Sign in with Microsoft" link (a plain link: no JavaScript).
    static func login(title: String, organization: String?, signInURL: String, notConfigured: (message: String, fix: String)?) -> String {
        let organizationLine = organization.map { "<p class=\"muted\">\(escape($0))</p>" } ?? ""
        let action = notConfigured.map { reason in
            "<p role=\"alert\">\(escape(reason.message))</p><p class=\"fix\">\(escape(reason.fix))</p>"
        } ?? "<p><a class=\"button\" id=\"sign-in\" href=\"\(escape(signInURL))\">Sign in with Microsoft</a></p>"
        return self.layout(title: "Sign in — \(title)", """
            <h1>Sign in to \(escape(title))</h1>
            \(organizationLine)
            \(action)
            """)
    }

    /// A signed-in landing page (where sign-ins return by default).
    static func home(title: String, user: (name: String, email: String)?, loginURL: String, logoutURL: String) -> String {
        guard let user else {
            return self.layout(title: title, """
                <h1>\(escape(title))</h1>
                <p>You are not signed in.</p>
                <p><a class="button" href="\(escape(loginURL))">Sign in</a></p>
                """)
        }
        return self.layout(title: title, """
            <h1>\(escape(title))</h1>
            <p id="signed-in-as">Signed in as <strong>\(escape(user.name.isEmpty ? user.email : user.name))</strong> \
            <span class="muted">\(escape(user.email))</span></p>
            <form method="post" action="\(escape(logoutURL))"><button class="button" type="submit">Sign out</button></form>
            """)
    }

    /// An error page: what happened and what to do, never internals.
    static func error(title: String, message: String, fix: String, code: String?, retryURL: String?) -> String {
        let codeLine = code.map { "<p class=\"muted\">Error code: <code>\(escape($0))</code></p>" } ?? ""
        let retry = retryURL.map { "<p><a href=\"\(escape($0))\">Back to the login page</a></p>" } ?? ""
        return self.layout(title: title, """
            <h1>\(escape(title))</h1>
            <p role="alert">\(escape(message))</p>
            <p class="fix">\(escape(fix))</p>
            \(codeLine)
            \(retry)
            """)
    }
}
