#!/usr/bin/env python3
"""Signs in through the identity service's HTTP edge exactly as a browser would, with the standard library only:
opens the login screen, follows its "Sign in with Microsoft" link through the redirects to the identity
provider, picks an account in the (emulated) account picker by submitting its form, follows the redirects back
through the callback with a cookie jar, and prints what /api/auth/me says.

  Scripts/lib/browser-signin.py LOGIN_URL ACCOUNT_EMAIL        e.g. http://127.0.0.1:7480/t/acme-eu/login
  Scripts/lib/browser-signin.py --pick AUTHORIZE_URL ACCOUNT   only the picker: prints the callback URL it
                                                               redirects to (for `milestone login`)

Prints each hop (never the session cookie's value) and the signed-in user as JSON; exits 1 with the page's
message when the sign-in fails."""
import html.parser
import http.cookiejar
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


class Forms(html.parser.HTMLParser):
    """The forms of a page (action, method, fields, submit buttons) and its links by id."""

    def __init__(self):
        super().__init__()
        self.forms, self.links = [], {}
        self._texts, self._in_alert = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "method": attrs.get("method", "get").lower(), "fields": [], "buttons": []})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"].append((attrs["name"], attrs.get("value", "")))
        elif tag == "button" and self.forms and attrs.get("name"):
            self.forms[-1]["buttons"].append((attrs["name"], attrs.get("value", "")))
        elif tag == "a" and attrs.get("id"):
            self.links[attrs["id"]] = attrs.get("href", "")
        if attrs.get("role") == "alert" or attrs.get("class") == "fix":
            self._in_alert = True

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_alert = False

    def handle_data(self, data):
        if self._in_alert and data.strip():
            self._texts.append(data.strip())

    @property
    def alerts(self):
        return " ".join(self._texts)


class Hops(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        print(f"  {code} -> {redact(newurl)}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def redact(url):
    parts = urllib.parse.urlsplit(url)
    query = [(k, "***" if k in ("code", "state", "nonce", "code_challenge") else v) for k, v in urllib.parse.parse_qsl(parts.query)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, safe="/:*")))


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def pick(authorize_url, account):
    """Submits the emulator's picker for AUTHORIZE_URL as ACCOUNT and prints where it redirects."""
    parts = urllib.parse.urlsplit(authorize_url)
    form = urllib.parse.parse_qsl(parts.query) + [("account", account)]
    endpoint = urllib.parse.urlunsplit(parts._replace(query=""))
    opener = urllib.request.build_opener(NoRedirects())
    try:
        opener.open(endpoint, data=urllib.parse.urlencode(form).encode(), timeout=15)
    except urllib.error.HTTPError as error:
        if error.code in (301, 302, 303) and error.headers.get("Location"):
            print(error.headers["Location"])
            return 0
        print(f"the identity provider answered HTTP {error.code}", file=sys.stderr)
        return 1
    print("the identity provider did not redirect", file=sys.stderr)
    return 1


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--pick":
        return pick(sys.argv[2], sys.argv[3])
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    login_url, account = sys.argv[1], sys.argv[2]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), Hops())

    def fetch(url, data=None):
        print(("POST " if data else "GET  ") + redact(url))
        try:
            with opener.open(url, data=data, timeout=15) as response:
                return response.geturl(), response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            page = Forms()
            page.feed(error.read().decode("utf-8", "replace"))
            print(f"sign-in failed: HTTP {error.code} at {redact(error.geturl())}: {page.alerts}", file=sys.stderr)
            sys.exit(1)

    url, _, body = fetch(login_url)
    page = Forms()
    page.feed(body)
    if "sign-in" not in page.links:
        print(f"the login screen has no Sign in with Microsoft button: {page.alerts}", file=sys.stderr)
        return 1
    url, _, body = fetch(urllib.parse.urljoin(url, page.links["sign-in"]))
    picker = Forms()
    picker.feed(body)
    form = next((f for f in picker.forms if any(name == "account" for name, _ in f["buttons"])), None)
    if form is None:
        print(f"no account picker at {redact(url)}", file=sys.stderr)
        return 1
    choices = [value for name, value in form["buttons"] if name == "account"]
    if account not in choices:
        print(f"the picker offers {', '.join(choices)}, not {account}", file=sys.stderr)
        return 1
    print(f"  picking {account}")
    data = urllib.parse.urlencode(form["fields"] + [("account", account)]).encode()
    url, _, body = fetch(urllib.parse.urljoin(url, form["action"] or url), data)
    print(f"landed on {redact(url)}")
    cookies = [c.name for c in jar]
    print(f"session cookie set: {', '.join(cookies) if cookies else 'none'}")
    base = login_url[: -len("/login")]
    _, _, me = fetch(base + "/api/auth/me")
    print(json.dumps(json.loads(me), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
