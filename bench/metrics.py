#!/usr/bin/env python3
"""Benchmark: what `[metrics]` costs ftinit, in CPU time and memory.

Runs ftinit twice for the same time, supervising 7 services as the images do (4 small python
http servers with an http check, 3 shell sleep loops with a tcp check, checks every 10 s): once
without `[metrics]`, once pushing every 10 s to a real influxd that the script starts in a
temp dir on a free port (auth off). At the end of each run it prints ftinit's own CPU time
(/proc/PID/stat utime + stime, over the measured window after every service is healthy) and
its RSS, PSS and private dirty memory (/proc/PID/smaps_rollup), then the difference.
As root ftinit runs as PID 1 of its own PID namespace (`unshare --pid --fork --mount-proc`),
as in a container, so that the metrics sample a container-sized /proc; otherwise (or with
`--plain`) as an ordinary child. Figures only: nothing here asserts anything.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FTINIT, shown  # noqa: E402

SERVICES = 7
HTTP_SERVERS = 4
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} within {timeout} s: no")
        time.sleep(0.1)


def http_status(url, data=None):
    try:
        with urllib.request.urlopen(url, data=data, timeout=2) as answer:
            return answer.status, answer.read()
    except OSError:
        return None, b""


class InfluxDB:
    """influxd with its data in `work`, HTTP on a free port of 127.0.0.1, auth off."""

    def __init__(self, work, database):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = database
        binary = shutil.which("influxd") or "/usr/bin/influxd"
        with open(f"{work}/influxdb.conf", "w") as f:
            f.write(f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{work}/influxdb/meta"
[data]
  dir = "{work}/influxdb/data"
  wal-dir = "{work}/influxdb/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  auth-enabled = false
  log-enabled = false
[logging]
  level = "warn"
""")
        self.log = open(f"{work}/influxd.log", "w")
        self.process = subprocess.Popen([binary, "-config", f"{work}/influxdb.conf"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: http_status(f"{self.url}/ping")[0] == 204 or self.process.poll() is not None,
                 30, "influxd answering /ping")
        if self.process.poll() is not None:
            raise SystemExit(f"influxd exited {self.process.returncode}; see {work}/influxd.log")
        self.query(f'CREATE DATABASE "{database}"', post=True)

    def query(self, statement, post=False):
        parameters = urllib.parse.urlencode({"db": self.database, "q": statement})
        if post:
            status, body = http_status(f"{self.url}/query", data=parameters.encode())
        else:
            status, body = http_status(f"{self.url}/query?{parameters}")
        if status != 200:
            raise SystemExit(f"influxd: {statement}: HTTP {status} {body[:200]!r}")
        return json.loads(body)

    def points(self):
        """Points stored in the database, all measurements together."""
        answer = self.query('SELECT count(*) FROM /^ftinit_/')
        total = 0
        for series in answer["results"][0].get("series", []):
            # One count per field: the largest is the number of points of that measurement.
            total += max(value for value in series["values"][0][1:] if value is not None)
        return total

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def config(work, ports, metrics):
    """7 services like the images': http servers with http checks, sleep loops with tcp checks."""
    text = f"[init]\nsocket = {work}/ftinit.sock\n\n"
    if metrics:
        text += f"""[metrics]
url = {metrics.url}
database = {metrics.database}
service = bench
interval = 10s
disk = {work}

"""
    for index in range(SERVICES):
        port = ports[index % HTTP_SERVERS]
        if index < HTTP_SERVERS:
            text += f"""[service web{index}]
run = python3 -m http.server --bind 127.0.0.1 --directory {work}/www {port}
check = http http://127.0.0.1:{port}/
check-interval = 10s

"""
        else:
            text += f"""[service loop{index}]
run = /bin/sh -c 'while :; do sleep 1; done'
check = tcp 127.0.0.1:{port}
check-interval = 10s

"""
    with open(f"{work}/ftinit.conf", "w") as f:
        f.write(text)
    return f"{work}/ftinit.conf"


def children(parent):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(name))
    return found


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def run_nanoseconds(pid):
    """Time on a CPU from /proc/PID/schedstat, in ns (stat's ticks are 10 ms coarse); None without schedstats."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def memory_kb(pid):
    figures = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Private_Dirty"):
                figures[key] = int(rest.split()[0])
    return figures


def run(work, seconds, metrics, as_pid1):
    ports = [free_port() for _ in range(HTTP_SERVERS)]
    conf = config(work, ports, metrics)
    log = open(f"{work}/ftinit-{'on' if metrics else 'off'}.log", "w")
    command = [FTINIT, "run", "--config", conf]
    if as_pid1:
        command = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] + command
    launcher = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        pid = launcher.pid
        if as_pid1:
            wait_for(lambda: any(os.path.realpath(f"/proc/{c}/exe") == os.path.realpath(FTINIT)
                                 for c in children(launcher.pid)), 5, "ftinit started under unshare")
            pid = next(c for c in children(launcher.pid) if os.path.realpath(f"/proc/{c}/exe") == os.path.realpath(FTINIT))
        probe = [FTINIT, "probe", "--socket", f"{work}/ftinit.sock"]

        def healthy():
            answer = subprocess.run(probe, capture_output=True, text=True)
            return answer.returncode == 0 and "starting" not in answer.stdout

        wait_for(healthy, 30, "every service healthy")
        start_cpu, start_ns, start = cpu_seconds(pid), run_nanoseconds(pid), time.monotonic()
        time.sleep(seconds)
        end_ns = run_nanoseconds(pid)
        figures = {"cpu": cpu_seconds(pid) - start_cpu, "window": time.monotonic() - start, **memory_kb(pid),
                   "sched": (end_ns - start_ns) / 1e9 if start_ns is not None and end_ns is not None else None}
        os.kill(pid, signal.SIGTERM)
        launcher.wait(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        log.close()
    with open(log.name) as f:
        text = f.read()
    figures["push_failures_logged"] = text.count("metrics-push-failed")
    return figures


def row(name, figures):
    per_minute = figures["cpu"] * 1000 / figures["window"] * 60
    sched = "n/a" if figures["sched"] is None else f"{figures['sched'] * 1000:.1f}"
    return (f"| {name} | {figures['cpu'] * 1000:.0f} | {per_minute:.1f} | {sched} | {figures['Rss']} | {figures['Pss']} | "
            f"{figures['Private_Dirty']} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="measured time of each run (default 60)")
    parser.add_argument("--plain", action="store_true", help="run ftinit as an ordinary child, not PID 1 under unshare")
    arguments = parser.parse_args()
    as_pid1 = not arguments.plain and os.geteuid() == 0 and shutil.which("unshare") is not None

    work = tempfile.mkdtemp(prefix="ftinit-bench-metrics-")
    os.makedirs(f"{work}/www")
    influxdb = None
    try:
        off = run(work, arguments.seconds, None, as_pid1)
        influxdb = InfluxDB(work, "bench")
        on = run(work, arguments.seconds, influxdb, as_pid1)
        stored = influxdb.points()
    finally:
        if influxdb:
            influxdb.stop()
        shutil.rmtree(work, ignore_errors=True)

    mode = "PID 1 of its own PID namespace" if as_pid1 else "plain child (not PID 1)"
    print(f"ftinit: {shown(FTINIT)}; {mode}; {SERVICES} services ({HTTP_SERVERS} python http servers with http checks, "
          f"{SERVICES - HTTP_SERVERS} sleep loops with tcp checks, every 10 s); {arguments.seconds:g} s measured per run, "
          f"from all healthy to the end")
    print(f"metrics: interval 10s to influxd on 127.0.0.1; {stored} points stored; "
          f"metrics-push-failed lines: {on['push_failures_logged']}\n")
    print("| run | ftinit CPU ms (stat utime+stime) | stat CPU ms/min | CPU ms (schedstat) | RSS kB | PSS kB | private dirty kB |\n"
          "|---|---|---|---|---|---|---|")
    print(row("metrics off", off))
    print(row("metrics on", on))
    difference = {key: on[key] - off[key] for key in ("cpu", "Rss", "Pss", "Private_Dirty")}
    difference["sched"] = None if on["sched"] is None or off["sched"] is None else on["sched"] - off["sched"]
    difference["window"] = on["window"]
    print(row("difference", difference))


if __name__ == "__main__":
    main()
