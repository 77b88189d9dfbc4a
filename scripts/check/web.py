"""Checks 1-5, 8 and 11: what a browser sees on the LB IP, and the Services behind it."""
import base64
import json

from browser import Browser, certificate_names
from webapps import phpmyadmin_login, wordpress_login, wordpress_roles

PUBLIC = {"nginx", "wordpress", "phpmyadmin", "ftps", "grafana"}
INTERNAL = {"mysql", "influxdb"}


def single_entry_point(stack):
    services = stack.backend.services()
    problems = []
    public = sorted(PUBLIC - stack.absent)
    for name in public:
        service = services.get(name)
        if not service or service["type"] != "LoadBalancer":
            problems.append(f"{name} is {service and service['type'] or 'missing'}, not LoadBalancer")
        elif service["external_ip"] != stack.lb_ip:
            problems.append(f"{name} is on {service['external_ip'] or 'no address'}, not {stack.lb_ip}")
    for name in sorted(INTERNAL):
        service = services.get(name)
        if not service or service["type"] != "ClusterIP" or service["external_ip"]:
            problems.append(f"{name} is not ClusterIP only")
    problems += [f"{name} exposes NodePort {ports}" for name, s in sorted(services.items()) if (ports := s["node_ports"])]
    if problems:
        return False, "; ".join(problems)
    left_out = f" ({', '.join(sorted(PUBLIC & stack.absent))} left out: --skip)" if PUBLIC & stack.absent else ""
    return True, f"{', '.join(public)} on {stack.lb_ip}; mysql, influxdb ClusterIP; no NodePort{left_out}"


def nginx(stack):
    ip, browser = stack.lb_ip, Browser()
    plain = browser.fetch(f"http://{ip}/any/path?q=1")
    if plain.status != 301 or plain.location != f"https://{ip}/any/path?q=1":
        return False, f"http://{ip}/any/path?q=1: {plain} (expected 301 to https://{ip}/any/path?q=1)"
    home = browser.fetch(f"https://{ip}/")
    if home.status != 200:
        return False, f"https://{ip}/: {home}"
    wordpress = browser.fetch(f"https://{ip}/wordpress")
    if wordpress.status != 307 or not (wordpress.location or "").startswith(f"https://{ip}:5050"):
        return False, f"https://{ip}/wordpress: {wordpress} (expected 307 to https://{ip}:5050)"
    deeper = browser.fetch(f"https://{ip}/wordpress/wp-login.php")
    names = certificate_names(ip, 443)
    if ("IP Address", ip) not in names:
        return False, f"the certificate of {ip}:443 names {names}, not {ip}"
    return True, (f"301 to https, / 200, /wordpress {wordpress}, /wordpress/wp-login.php {deeper.status} -> "
                  f"{deeper.location}, certificate names IP {ip}")


def phpmyadmin_through_nginx(stack):
    ok, evidence = phpmyadmin_login(f"https://{stack.lb_ip}/phpmyadmin/", stack.values["WP_DB_USER"],
                                    stack.values["WP_DB_PASSWORD"], stack.values["WP_DB_NAME"], "wp_users")
    return ok, f"through nginx: {evidence}"


def wordpress(stack):
    site = f"https://{stack.lb_ip}:5050"
    home = Browser().fetch(f"{site}/")
    if home.status != 200 or "wp-content" not in home.body:
        return False, f"{site}/: {home}, not a WordPress page"
    browser, ok, evidence = wordpress_login(site, stack.values["WP_ADMIN_USER"], stack.values["WP_ADMIN_PASSWORD"])
    if not ok:
        return False, evidence
    roles = wordpress_roles(browser, site)
    if roles is None:
        return False, f"{evidence}, but wp-admin/users.php did not load"
    others = {role: count for role, count in roles.items() if role != "administrator"}
    if roles.get("administrator", 0) < 1 or sum(others.values()) < 2 or len(others) < 2:
        return False, f"{evidence}; users.php roles {roles}: the administrator and two others of distinct roles expected"
    return True, f"site 200; {evidence}; users.php: {', '.join(f'{r} {c}' for r, c in sorted(roles.items()))}"


def phpmyadmin(stack):
    return phpmyadmin_login(f"https://{stack.lb_ip}:5000/", stack.values["WP_DB_USER"], stack.values["WP_DB_PASSWORD"])


GRAFANA_DASHBOARDS = ["nginx", "wordpress", "phpmyadmin", "mysql", "ftps", "influxdb", "grafana"]


def grafana(stack):
    """Grafana's HTTPS API with the admin's basic auth: login (the form's cookie Secure), the
    data source's health, one dashboard per service, and one query of each returning that
    service's recent points."""
    base = f"https://{stack.lb_ip}:3000"
    credentials = f"{stack.values['GRAFANA_ADMIN_USER']}:{stack.values['GRAFANA_ADMIN_PASSWORD']}"
    headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    browser = Browser()

    def api(path, payload=None):
        answer = browser.fetch(base + path, headers=headers) if payload is None else browser.post_json(base + path, payload, headers)
        try:
            return answer.status, json.loads(answer.body)
        except ValueError:
            return answer.status, None

    status, _ = api("/api/user")
    if status != 200:
        return False, f"login as {stack.values['GRAFANA_ADMIN_USER']}: /api/user {status}"
    # The login form's session cookie is sent back over HTTPS only (cookie_secure).
    login = Browser().post_json(base + "/login", {"user": stack.values["GRAFANA_ADMIN_USER"],
                                                  "password": stack.values["GRAFANA_ADMIN_PASSWORD"]})
    session = [c for c in (login.headers.get_all("Set-Cookie") or []) if c.startswith("grafana_session=")] if login.headers else []
    if login.status != 200 or not session or "secure" not in session[0].lower().split("; "):
        return False, f"login form: {login.status}, session cookie {session[0].split(';', 1)[1:] if session else 'none'} (want Secure)"
    status, sources = api("/api/datasources")
    source = next((s for s in sources or [] if s.get("type") == "influxdb"), None)
    if source is None:
        return False, f"no InfluxDB data source ({status})"
    status, health = api(f"/api/datasources/uid/{source['uid']}/health")
    if status != 200 or (health or {}).get("status") != "OK":
        return False, f"data source health: {status} {health}"
    status, found = api("/api/search?type=dash-db")
    titles = {d.get("uid"): d for d in found or []}
    missing = [name for name in GRAFANA_DASHBOARDS if not any(name in (uid or "") or name in d.get("title", "").lower()
                                                              for uid, d in titles.items())]
    if missing:
        return False, f"no dashboard for {missing}"
    empty = []
    for name in GRAFANA_DASHBOARDS:
        query = f"SELECT last(\"rss_bytes\") FROM \"ftinit_process\" WHERE \"service\" = '{name}' AND time > now() - 5m"
        status, answer = api("/api/ds/query", {"from": "now-5m", "to": "now", "queries": [
            {"refId": "A", "datasource": {"uid": source["uid"]}, "query": query, "rawQuery": True, "resultFormat": "time_series"}]})
        frames = ((answer or {}).get("results", {}).get("A", {}) or {}).get("frames", [])
        if status != 200 or not any(frame.get("data", {}).get("values") for frame in frames):
            empty.append(name)
    if empty:
        return False, f"no recent points through Grafana for {empty}"
    return True, f"login; data source OK; {len(GRAFANA_DASHBOARDS)} dashboards; recent points of every service"


def dashboard(stack):
    return stack.backend.dashboard()

