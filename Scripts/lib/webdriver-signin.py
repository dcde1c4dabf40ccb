#!/usr/bin/env python3
"""The sign-in in a real browser: headless Chromium driven through chromedriver's W3C WebDriver API (standard
library only). Opens the login screen, clicks "Sign in with Microsoft", picks the account in the identity
provider's picker, and checks that the browser lands on the return path with a session: the page says who is
signed in, the session cookie is HttpOnly and SameSite=Lax, and /api/auth/me shows the user.

  Scripts/lib/webdriver-signin.py LOGIN_URL ACCOUNT_EMAIL

Every wait has a deadline. Exits 0 when every check passed, 1 otherwise (saying which)."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEADLINE_S = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=DEADLINE_S) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"webdriver {method} {path}: {error.read().decode(errors='replace')[:300]}")
        except (urllib.error.URLError, OSError) as error:
            raise RuntimeError(f"webdriver {method} {path}: {error}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def until(self, what, probe):
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            try:
                value = probe()
                if value:
                    return value
            except RuntimeError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"timed out after {DEADLINE_S} s waiting for {what}")

    def find(self, css):
        return self.until(css, lambda: self.s("POST", "/element", {"using": "css selector", "value": css}))

    def click(self, css):
        element = self.find(css)
        self.s("POST", f"/element/{list(element.values())[0]}/click", {})


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    login_url, account = sys.argv[1], sys.argv[2]
    base = login_url[: -len("/login")]
    site = login_url.split("/t/")[0]
    port = free_port()
    profile = tempfile.mkdtemp(prefix="milestone-chromium-")
    driver_log = open(os.path.join(profile, "chromedriver.log"), "w")
    process = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=driver_log, stderr=subprocess.STDOUT)
    driver = Driver(port)
    failures = []

    def check(description, ok):
        print(("ok     " if ok else "FAILED ") + description)
        if not ok:
            failures.append(description)

    try:
        driver.until("chromedriver", lambda: driver.call("GET", "/status").get("ready"))
        created = driver.call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={profile}/data"],
            },
        }}})
        driver.session = created["sessionId"]
        driver.s("POST", "/url", {"url": login_url})
        check("the login screen shows the Sign in with Microsoft button",
              "Sign in with Microsoft" in driver.s("GET", "/source"))
        driver.click("#sign-in")
        driver.click(f"button[value='{account}']")
        landed = driver.until("the return path", lambda: (lambda u: u if u.startswith(base + "/") and "/api/auth/" not in u else None)(driver.s("GET", "/url")))
        check(f"the browser landed on the return path ({landed})", landed.rstrip("/") == base)
        check("the page says who is signed in", "Signed in as" in driver.s("GET", "/source"))
        cookies = driver.s("GET", "/cookie")
        session = [c for c in cookies if c["name"].startswith("milestone_session")]
        check("a session cookie is set", len(session) == 1)
        if session:
            check("the session cookie is HttpOnly", session[0].get("httpOnly") is True)
            check("the session cookie is SameSite=Lax", session[0].get("sameSite") == "Lax")
            check("the session cookie's path is /", session[0].get("path") == "/")
        driver.s("POST", "/url", {"url": base + "/api/auth/me"})
        body = driver.s("GET", "/source")
        check(f"/api/auth/me shows {account}", f'"email":"{account}"' in body.replace(" ", ""))
        # Sign out with the page's button (same origin), then /me refuses.
        driver.s("POST", "/url", {"url": base + "/"})
        driver.click("form button[type='submit']")
        driver.until("the login screen after signing out", lambda: driver.s("GET", "/url").endswith("/login"))
        driver.s("POST", "/url", {"url": base + "/api/auth/me"})
        check("after signing out, /api/auth/me says not signed in", "not signed in" in driver.s("GET", "/source"))
    except Exception as error:  # noqa: BLE001 - report any failure as a failed check
        check(f"the browser flow ran ({error})", False)
    finally:
        if driver.session:
            try:
                driver.call("DELETE", f"/session/{driver.session}")
            except Exception:  # noqa: BLE001
                pass
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    print(f"browser sign-in: {'all checks passed' if not failures else f'{len(failures)} failed'}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
