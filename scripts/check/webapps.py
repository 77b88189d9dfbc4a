"""The logins and pages of phpMyAdmin and WordPress, as a person does them in a browser.
Each function returns (ok, evidence): evidence is one line saying what was seen."""
import re
import urllib.parse

from browser import Browser, Forms, hidden_fields


def phpmyadmin_login(base, user, password, database=None, table=None, browser=None):
    """A cookie login at `base` (ending in /): the login form and its token, the POST answered
    by a redirect, the main page with a logout link; then, with `database` and `table`, that
    table's page, which must list rows. `browser`: the one to use (a new one by default)."""
    browser = browser or Browser()
    page = browser.fetch(base)
    form = Forms(page.body).form(id="login_form")
    if page.status != 200 or form is None:
        return False, f"GET {base}: {page}, {'a login form' if form else 'no login form'}"
    fields = hidden_fields(form)
    if not fields.get("token"):
        return False, "the login form carries no token"
    fields.update({"pma_username": user, "pma_password": password, "server": "1"})
    post = urllib.parse.urljoin(base, form["attrs"].get("action") or "")
    answer = browser.fetch(post, fields)
    if answer.status not in (301, 302, 303) or not answer.location:
        return False, f"login as {user}: POST {answer}, login refused"
    main = urllib.parse.urljoin(post, answer.location)
    page = browser.fetch(main)
    if page.status != 200 or Forms(page.body).form(id="login_form") or "route=/logout" not in page.body:
        return False, f"after the login, {main}: {page}, not phpMyAdmin's main page"
    if database is None:
        return True, f"login as {user}: POST {answer.status}, main page 200"
    query = urllib.parse.urlencode({"route": "/sql", "db": database, "table": table, "pos": "0"})
    rows_url = urllib.parse.urljoin(main, f"index.php?{query}")
    page = browser.fetch(rows_url)
    rows = len(re.findall(r'<td[^>]*class="[^"]*data[^"]*"[^>]*>', page.body))
    if page.status != 200 or "Showing rows" not in page.body:
        return False, f"{database}.{table} after the login: {page}, no rows shown ({rows} data cells)"
    total = re.search(r"Showing rows[^(<]*\((\d+) total", page.body)
    return True, f"login as {user}, then {database}.{table}: {total.group(1) + ' rows' if total else 'rows shown'}"


def wordpress_login(site, user, password):
    """wp-login.php as a browser: its test cookie first, then the form; (browser, ok, evidence)."""
    browser = Browser()
    login = f"{site}/wp-login.php"
    page = browser.fetch(login)
    if page.status != 200 or Forms(page.body).form(id="loginform") is None:
        return browser, False, f"GET {login}: {page}, no login form"
    answer = browser.fetch(login, {"log": user, "pwd": password, "wp-submit": "Log In",
                                   "redirect_to": f"{site}/wp-admin/", "testcookie": "1"})
    if answer.status != 302 or not any(name.startswith("wordpress_logged_in") for name in browser.cookies()):
        return browser, False, f"login as {user}: POST {answer}, no logged-in cookie"
    return browser, True, f"login as {user}: 302"


def wordpress_roles(browser, site):
    """The role counts users.php shows ("Administrator (1)"...): {role: count}, or None."""
    page = browser.fetch(f"{site}/wp-admin/users.php")
    if page.status != 200:
        return None
    counts = re.findall(r"<li class='([a-z_]+)'><a [^>]*>[^<]*<span class=\"count\">\((\d+)\)</span>", page.body)
    return {role: int(count) for role, count in counts if role != "all"}


def wordpress_comment(browser, site, post_id, text):
    """Posts `text` as a comment of post `post_id` as the logged-in user; ok when WordPress
    answers with the redirect to the comment."""
    answer = browser.fetch(f"{site}/wp-comments-post.php", {"comment_post_ID": str(post_id), "comment": text,
                                                               "comment_parent": "0"})
    return answer.status in (301, 302, 303), f"comment posted: {answer.status}"


def wordpress_has_comment(site, text):
    """Whether the public REST API lists an approved comment containing `text`."""
    query = urllib.parse.urlencode({"rest_route": "/wp/v2/comments", "search": text})
    page = Browser().fetch(f"{site}/?{query}")
    return page.status == 200 and text in page.body, f"REST comments search: {page.status}"
