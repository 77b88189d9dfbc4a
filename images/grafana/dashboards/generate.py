#!/usr/bin/env python3
"""Writes the Grafana dashboards of the grafana image: one per service, plus overview.json.

Why a generator: the seven service dashboards are the same panels with another service name,
and every query must name the metrics of docs/metrics.md exactly. Eight hand-edited JSON files
would drift apart; this file is their one source. Its output is committed, because Grafana
loads plain JSON from /etc/ftinit/dashboards and the image has no python (.dockerignore keeps
this script out of it). Tests/IntegrationTests/Metrics/DashboardTests.swift runs `--check` and
runs every query below against an InfluxDB fed by real ftinit processes.

    python3 images/grafana/dashboards/generate.py           rewrite the JSON files
    python3 images/grafana/dashboards/generate.py --check   exit 1, naming each stale file

Queries are raw InfluxQL with Grafana's macros ($timeFilter, $__interval, $container).
Counters (cpu_seconds, net_*_bytes) are graphed as non_negative_derivative(..., 1s): CPU in
cores (percentunit: 100% = one core), bytes per second.
"""
import json
import pathlib
import sys

SERVICES = ["nginx", "wordpress", "phpmyadmin", "mysql", "ftps", "influxdb", "grafana"]
DATASOURCE = {"type": "influxdb", "uid": "influxdb"}
FOLDER = pathlib.Path(__file__).resolve().parent


def mean(field, alias):
    return f'mean("{field}") AS "{alias}"'


def last(field, alias):
    return f'last("{field}") AS "{alias}"'


def rate(field, alias):
    return f'non_negative_derivative(mean("{field}"), 1s) AS "{alias}"'


def query(fields, measurement, where, tags):
    conditions = " AND ".join(where + ["$timeFilter"])
    group = ", ".join(["time($__interval)"] + [f'"{tag}"' for tag in tags])
    return f'SELECT {", ".join(fields)} FROM "{measurement}" WHERE {conditions} GROUP BY {group} fill(null)'


def target(ref_id, text, alias):
    return {"alias": alias, "datasource": DATASOURCE, "query": text, "rawQuery": True,
            "refId": ref_id, "resultFormat": "time_series"}


def panel(title, unit, queries, description, kind="timeseries", width=8, overrides=(), **defaults):
    """A panel `width` columns wide (of 24); `queries` is a list of (query, legend alias)."""
    targets = [target(chr(ord("A") + i), text, alias) for i, (text, alias) in enumerate(queries)]
    if kind == "stat":
        options = {"colorMode": "background", "graphMode": "none", "justifyMode": "auto",
                   "orientation": "auto", "textMode": "value_and_name",
                   "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    else:
        options = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "none"}}
        defaults["custom"] = {"fillOpacity": 10, "lineWidth": 1, "showPoints": "never", "spanNulls": True}
    return {"datasource": DATASOURCE, "description": description, "title": title, "type": kind,
            "fieldConfig": {"defaults": {"unit": unit, **defaults}, "overrides": list(overrides)},
            "gridPos": {"h": 8, "w": width}, "options": options, "targets": targets}


# Health as a stat: 1 is UP (green), 0 is DOWN (red).
UP_DOWN = {
    "color": {"mode": "thresholds"},
    "mappings": [{"type": "value", "options": {"0": {"color": "red", "index": 1, "text": "DOWN"},
                                               "1": {"color": "green", "index": 0, "text": "UP"}}}],
    "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
}
# Network: bytes sent below the axis, received above.
TX_BELOW = [{"matcher": {"id": "byRegexp", "options": "^tx"},
             "properties": [{"id": "custom.transform", "value": "negative-Y"}]}]
# ftinit's own CPU on a second axis, next to its memory.
CPU_RIGHT = [{"matcher": {"id": "byRegexp", "options": "^cpu"},
              "properties": [{"id": "unit", "value": "percentunit"}, {"id": "custom.axisPlacement", "value": "right"}]}]


def service_panels(service):
    where = [f"\"service\" = '{service}'", '"container" =~ /^$container$/']

    def per_container(fields, measurement="ftinit_container", alias="$tag_container"):
        return query(fields, measurement, where, ["container"]), alias

    def per_process(fields):
        return query(fields, "ftinit_process", where, ["container", "process"]), "$tag_process ($tag_container)"

    return [
        panel("CPU", "percentunit", [per_container([rate("cpu_seconds", "cpu")])],
              "CPU of the container's cgroup; 100% is one core.", min=0),
        panel("Memory", "bytes", [per_container([mean("memory_bytes", "memory")])],
              "Memory in use by the container's cgroup.", min=0),
        panel("Health", "none", [per_process([last("healthy", "healthy")])],
              "Each service of the container: UP when it runs and its check passes.", kind="stat", **UP_DOWN),
        panel("Uptime", "s", [per_process([last("uptime_seconds", "uptime")])],
              "Time since each service started; a drop is a restart of the container.", min=0),
        panel("Processes", "none", [per_process([last("processes", "processes")]),
                                    per_container([last("processes", "processes")], alias="all ($tag_container)")],
              "Processes in each service's process tree, and in the whole container.", min=0, decimals=0),
        panel("Network", "Bps",
              [per_container([rate("net_rx_bytes", "rx"), rate("net_tx_bytes", "tx")], alias="$col $tag_container")],
              "Bytes per second received (up) and sent (down) on every interface but lo.", overrides=TX_BELOW),
        panel("Disk", "bytes", [(query([last("used_bytes", "used"), last("free_bytes", "free")], "ftinit_disk", where,
                                       ["container", "path"]), "$col $tag_path ($tag_container)")],
              "Space used under each data path, and space left on its filesystem.", min=0),
        panel("CPU per process", "percentunit", [per_process([rate("cpu_seconds", "cpu")])],
              "CPU of each service's process tree; 100% is one core.", min=0),
        panel("Memory per process", "bytes", [per_process([mean("rss_bytes", "rss")])],
              "Resident memory of each service's process tree.", min=0),
        panel("Check latency", "ms", [per_process([mean("check_latency_ms", "latency")])],
              "Duration of the last health check of each service that has one.", min=0),
        panel("ftinit memory and CPU", "bytes",
              [per_container([mean("rss_bytes", "rss")], "ftinit_self", "rss $tag_container"),
               per_container([rate("cpu_seconds", "cpu")], "ftinit_self", "cpu $tag_container")],
              "Resident memory of ftinit itself, and its CPU (right axis; 100% is one core).", overrides=CPU_RIGHT, min=0),
        panel("ftinit metrics push", "none",
              [per_container([last("points_buffered", "buffered"), last("points_dropped", "dropped"),
                              last("push_failures", "failures")], "ftinit_self", "$col $tag_container")],
              "Points waiting for InfluxDB, points dropped and failed pushes since ftinit started.", min=0, decimals=0),
    ]


def overview_panels():
    def per_container(fields, alias="$tag_container"):
        return query(fields, "ftinit_container", [], ["service", "container"]), alias

    # ftinit_process has one series per service (tasks are not in it): the minimum is 1 when
    # every service of the image is healthy.
    health = query(['min("healthy") AS "healthy"'], "ftinit_process", [], ["service"]), "$tag_service"
    services = panel("Services", "none", [health],
                     "UP when every service of the image was healthy at its last report of the past minute.",
                     kind="stat", width=24, **UP_DOWN)
    services["timeFrom"] = "1m"
    return [
        services,
        panel("Health", "none", [health], "1 when every service of the image is healthy, 0 when one is not.",
              min=0, max=1, decimals=0),
        panel("CPU", "percentunit", [per_container([rate("cpu_seconds", "cpu")])],
              "CPU of each container; 100% is one core.", min=0),
        panel("Memory", "bytes", [per_container([mean("memory_bytes", "memory")])], "Memory in use by each container.", min=0),
        panel("Network", "Bps", [per_container([rate("net_rx_bytes", "rx"), rate("net_tx_bytes", "tx")], "$col $tag_container")],
              "Bytes per second received (up) and sent (down) by each container.", overrides=TX_BELOW),
    ]


def laid_out(panels):
    """Numbers the panels and places them left to right, in rows of 24 columns."""
    x, y = 0, 0
    for number, item in enumerate(panels, start=1):
        position = item["gridPos"]
        if x + position["w"] > 24:
            x, y = 0, y + position["h"]
        position.update(x=x, y=y)
        item["id"] = number
        x += position["w"]
    return panels


def dashboard(uid, title, panels, templating):
    return {
        "annotations": {"list": []},
        "editable": False,
        "graphTooltip": 1,
        "links": [{"asDropdown": True, "icon": "external link", "includeVars": False, "keepTime": True,
                   "tags": ["ft_services"], "title": "ft_services", "type": "dashboards"}],
        "panels": laid_out(panels),
        "refresh": "10s",
        "schemaVersion": 39,
        "tags": ["ft_services"],
        "templating": {"list": templating},
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
    }


def container_variable(service):
    text = f"SHOW TAG VALUES FROM \"ftinit_container\" WITH KEY = \"container\" WHERE \"service\" = '{service}'"
    return {"current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "datasource": DATASOURCE,
            "definition": text, "hide": 0, "includeAll": True, "label": "container", "multi": True,
            "name": "container", "options": [], "query": text, "refresh": 2, "regex": "", "sort": 1, "type": "query"}


def dashboards():
    """File name → dashboard, in a fixed order."""
    result = {"overview.json": dashboard("ft-overview", "Overview", overview_panels(), [])}
    for service in SERVICES:
        result[f"{service}.json"] = dashboard(f"ft-{service}", service, service_panels(service), [container_variable(service)])
    return result


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] not in ([], ["--check"]):
        print(f"usage: {argv[0]} [--check]", file=sys.stderr)
        return 2
    boards = dashboards()
    stale = []
    for name, board in boards.items():
        path = FOLDER / name
        text = json.dumps(board, indent=2, sort_keys=True) + "\n"
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if check:
        extra = sorted({p.name for p in FOLDER.glob("*.json")} - set(boards))
        for name in stale:
            print(f"{FOLDER / name}: differs from what generate.py writes (run it, commit the result)", file=sys.stderr)
        for name in extra:
            print(f"{FOLDER / name}: not written by generate.py (remove it, or add it there)", file=sys.stderr)
        return 1 if stale or extra else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
