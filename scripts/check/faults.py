"""Checks 9 and 10, which restart containers: data survives a killed database, and every
supervised daemon's death restarts its container, which is ready again."""
import time

from webapps import wordpress_comment, wordpress_has_comment, wordpress_login

# The daemons ftinit supervises in each Deployment, by process name.
DAEMONS = {"nginx": ["nginx", "sshd"], "wordpress": ["php-fpm83", "nginx"], "phpmyadmin": ["php-fpm83", "nginx"],
           "mysql": ["mariadbd"], "ftps": ["vsftpd"], "influxdb": ["influxd"], "grafana": ["grafana"]}
READY_WITHIN = 180


def kill_daemon(stack, service, process):
    """SIGKILL to `process`, a child of PID 1 (ftinit) in `service`'s container; then until the
    container has restarted and is ready. (ok, seconds from the kill to ready, evidence)."""
    before = stack.backend.restart_count(service)
    script = ('for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = "$0" ] || continue; '
              'set -- $(cat $p/stat); [ "$4" = 1 ] && kill -9 "${p#/proc/}" && echo killed && exit 0; done; exit 1')
    killed_at = time.monotonic()
    result = stack.backend.exec(service, ["/bin/sh", "-c", script, process], timeout=30)
    if "killed" not in result.stdout:
        return False, 0, f"no {process} under ftinit in {service}"
    while time.monotonic() - killed_at < READY_WITHIN:
        if stack.backend.restart_count(service) > before and stack.backend.ready(service):
            return True, time.monotonic() - killed_at, "restarted"
        time.sleep(0.5)
    return False, time.monotonic() - killed_at, f"{service}: no restart to ready within {READY_WITHIN} s after {process} was killed"


def restart_on_death(stack):
    timings, problems = [], []
    for service, processes in DAEMONS.items():
        if service in stack.absent:
            continue
        for process in processes:
            ok, seconds, evidence = kill_daemon(stack, service, process)
            if ok:
                timings.append(f"{service}/{process} {seconds:.1f}s")
            else:
                problems.append(evidence)
    left_out = sorted(stack.absent & set(DAEMONS))
    note = f" ({', '.join(left_out)} left out: --skip)" if left_out else ""
    if problems:
        return False, "; ".join(problems) + note
    return True, "kill -9 -> restarted and ready: " + ", ".join(timings) + note


def curl_quoted(text):
    """`text` as a quoted value of a curl config file."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def influx(stack, endpoint, option, value):
    """POST to InfluxDB's `endpoint` as the admin, from inside the influxdb container; the
    credentials and `value` go to curl in a config on stdin, never on a command line."""
    credentials = f"{stack.values['INFLUXDB_ADMIN_USER']}:{stack.values['INFLUXDB_ADMIN_PASSWORD']}"
    config = f"user = {curl_quoted(credentials)}\n{option} = {curl_quoted(value)}\n"
    url = f"http://127.0.0.1:8086/{endpoint}?db={stack.values.get('INFLUXDB_DB', 'ftservices')}"
    return stack.backend.exec("influxdb", ["curl", "-q", "-sS", "--fail", "-K", "-", "-X", "POST", url], stdin=config)


def influx_query(stack, statement):
    return influx(stack, "query", "data-urlencode", f"q={statement}")


def influx_write(stack, line):
    return influx(stack, "write", "data-binary", line)


def persistence(stack):
    site = f"https://{stack.lb_ip}:5050"
    marker = f"ft-check-{int(time.time())}"
    browser, ok, evidence = wordpress_login(site, stack.values["WP_ADMIN_USER"], stack.values["WP_ADMIN_PASSWORD"])
    if not ok:
        return False, evidence
    ok, evidence = wordpress_comment(browser, site, 1, f"{marker} survives the database's death")
    if not ok or not wordpress_has_comment(site, marker)[0]:
        return False, f"the marker comment was not stored ({evidence})"
    written = influx_write(stack, f"ft_check,marker={marker} value=1")
    if written.returncode != 0:
        return False, f"the InfluxDB marker was not written: {written.stderr.strip()[:120]}"
    found = []
    for service, process, still_there in [
            ("mysql", "mariadbd", lambda: wordpress_has_comment(site, marker)[0]),
            ("influxdb", "influxd", lambda: marker in influx_query(stack, f"SELECT * FROM ft_check WHERE marker = '{marker}'").stdout)]:
        ok, seconds, evidence = kill_daemon(stack, service, process)
        if not ok:
            return False, evidence
        # Ready is ftinit's probe; the site's own first query may lag it by a moment.
        deadline = time.monotonic() + 15
        while not still_there() and time.monotonic() < deadline:
            time.sleep(1)
        if not still_there():
            return False, f"after kill -9 of {process} and the restart, the marker is gone"
        found.append(f"{service} restarted in {seconds:.1f}s, marker kept")
    influx_query(stack, f"DROP SERIES FROM ft_check WHERE marker = '{marker}'")
    return True, "; ".join(found)

