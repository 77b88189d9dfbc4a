#!/usr/bin/env python3
"""A real phpMyAdmin cookie login, as a browser does it (standard library only).

    pma_login.py BASE USER PASSWORD [--cacert FILE] [--db NAME --expect-table TABLE]

1. GET BASE: 200 and phpMyAdmin's login form (id="login_form") with its hidden fields
   (the CSRF token among them).
2. POST the form with pma_username / pma_password: a successful login answers with a redirect
   (302/303); a refused one shows the login form again.
3. GET the redirect target with the session cookies: the main page, with a logout link and no
   login form.
4. With --db and --expect-table: the structure page of that database lists the table, so the
   session really queries the server as USER.

Every step prints what it saw (status, Location, cookie names, page title) on stdout; nothing is
written to disk. Exit status: 0 logged in (and the table was listed), 1 the login or a check
failed, 2 usage or connection error.
"""

import argparse
import html
import html.parser
import http.cookiejar
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request


class Forms(html.parser.HTMLParser):
    """The forms of a page: their attributes and the name/value of their <input> elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.title = None
        self._current = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        if tag == "form":
            self._current = {"attrs": attributes, "inputs": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and "name" in attributes:
            self._current["inputs"][attributes["name"]] = (attributes.get("type", "text"), attributes.get("value", ""))
        elif tag == "title" and self.title is None:
            self._in_title = True
            self.title = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def login_form(self):
        for form in self.forms:
            if form["attrs"].get("id") == "login_form" or form["attrs"].get("name") == "login_form":
                return form
        return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand, so that each one is seen and printed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    def __init__(self, cacert):
        if cacert:
            context = ssl.create_default_context(cafile=cacert)
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(self.jar),
            NoRedirect,
        )

    def fetch(self, url, data=None):
        request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data is not None else None)
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.headers, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode("utf-8", "replace")


def parse(body):
    forms = Forms()
    forms.feed(body)
    return forms


def shown_errors(body):
    """The texts of the error boxes of a page, without the two every login page carries hidden
    (the <noscript> one and the HTTPS-mismatch one that only JavaScript reveals)."""
    body = re.sub(r"<noscript>.*?</noscript>", "", body, flags=re.S)
    body = re.sub(r'<div[^>]*id="js-https-mismatch"[^>]*>.*?</div>\s*</div>', "", body, flags=re.S)
    boxes = re.findall(r'<div[^>]*class="[^"]*alert-danger[^"]*"[^>]*>(.*?)</div>', body, re.S)
    return [html.unescape(" ".join(re.sub(r"<[^>]+>", " ", box).split())) for box in boxes]


def title_of(forms):
    return " ".join((forms.title or "").split())


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("base", help="phpMyAdmin's URL, e.g. https://phpmyadmin:5000/")
    arguments.add_argument("user")
    arguments.add_argument("password")
    arguments.add_argument("--cacert", help="verify the server against this certificate (default: no verification)")
    arguments.add_argument("--db", help="database whose structure page is opened after the login")
    arguments.add_argument("--expect-table", help="table that page must list (needs --db)")
    options = arguments.parse_args()
    if options.expect_table and not options.db:
        arguments.error("--expect-table needs --db")

    browser = Browser(options.cacert)
    try:
        status, _, body = browser.fetch(options.base)
        page = parse(body)
        form = page.login_form()
        print(f"GET {options.base} -> {status}, title {title_of(page)!r}, login form {'found' if form else 'missing'}")
        if status != 200 or form is None:
            print("FAIL: no login page")
            return 1

        fields = {name: value for name, (kind, value) in form["inputs"].items() if kind == "hidden"}
        print(f"login form: action {form['attrs'].get('action')!r}, hidden fields {sorted(fields)}")
        if not fields.get("token"):
            print("FAIL: the login form carries no token")
            return 1
        fields.update({"pma_username": options.user, "pma_password": options.password, "server": "1"})
        post_url = urllib.parse.urljoin(options.base, form["attrs"].get("action") or "")
        status, headers, body = browser.fetch(post_url, fields)
        location = headers.get("Location")
        print(f"POST {post_url} -> {status}, Location {location!r}, cookies {sorted(c.name for c in browser.jar)}")
        if status not in (301, 302, 303) or not location:
            page = parse(body)
            print(f"login refused: title {title_of(page)!r}, login form shown again: {page.login_form() is not None}, "
                  f"errors {shown_errors(body)}")
            print("FAIL: the login did not redirect")
            return 1

        main_url = urllib.parse.urljoin(post_url, location)
        status, _, body = browser.fetch(main_url)
        page = parse(body)
        logged_in = page.login_form() is None and "route=/logout" in body
        print(f"GET {main_url} -> {status}, title {title_of(page)!r}, logged in: {logged_in}")
        if status != 200 or not logged_in:
            print("FAIL: the page after the login is not phpMyAdmin's main page")
            return 1

        if options.db:
            query = urllib.parse.urlencode({"route": "/database/structure", "db": options.db})
            db_url = urllib.parse.urljoin(main_url, f"index.php?{query}")
            status, _, body = browser.fetch(db_url)
            listed = bool(options.expect_table) and re.search(r"\b%s\b" % re.escape(options.expect_table), body) is not None
            print(f"GET {db_url} -> {status}, table {options.expect_table!r} listed: {listed}")
            if status != 200 or (options.expect_table and not listed):
                print("FAIL: the database structure page does not list the table")
                return 1

        print(f"OK: logged in as {options.user}")
        return 0
    except (OSError, urllib.error.URLError) as error:
        print(f"ERROR: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
