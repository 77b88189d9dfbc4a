#!/usr/bin/env python3
"""Benchmark: how long ftinit takes to stop 7 services, with this binary and an earlier one.

    FTINIT_BIN=.build/release/ftinit python3 bench/stop.py --before PATH [--runs 7] [--output docs/BENCHMARKS.md]

ftinit runs as PID 1 of its own PID namespace (`unshare --pid --fork --mount-proc`, as root) with
7 services in three shapes: independent services that exit at once on TERM (the shape of
compare.py's "Ordered shutdown"), independent services whose TERM handler takes 200 ms, and a
chain of such services (each `after` the previous one). Measured: SIGTERM to PID 1 until the
namespace is gone, ms. --before is the binary to compare with (an ftinit built from an earlier
commit, which stopped one service after the other). Prints the table and writes it into the
"Stop along the dependency graph" section of docs/BENCHMARKS.md, between markers that
bench/compare.py keeps when it rewrites the rest.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FTINIT, ROOT, shown, write_table_section  # noqa: E402
from metrics import children, wait_for  # noqa: E402

SERVICES = 7
BEGIN, END = "<!-- stop:begin (bench/stop.py) -->", "<!-- stop:end -->"
# A service whose TERM handler takes SECONDS, then exits 0 (its sleeps run in the background
# so that the trap runs at once).
SERVICE = "sh -c 'trap \"sleep {seconds}; exit 0\" TERM; while :; do sleep 1 & wait; done'"
SHAPES = [
    ("7 independent, exit at once", "0", False),
    ("7 independent, 200 ms each", "0.2", False),
    ("chain of 7, 200 ms each", "0.2", True),
]


def config(work, seconds, chain):
    text = f"[init]\nsocket = {work}/ftinit.sock\n\n"
    for i in range(SERVICES):
        text += f"[service s{i}]\nrun = {SERVICE.format(seconds=seconds)}\n"
        if chain and i > 0:
            text += f"after = s{i - 1}\n"
        text += "\n"
    path = os.path.join(work, "ftinit.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def stop_time(binary, path, work):
    """One run: start, wait until every service started and 300 ms more, SIGTERM; ms to the end
    (a run whose services did not all start fails at its exit-code check)."""
    log_path = os.path.join(work, "ftinit.log")
    with open(log_path, "w") as log:
        launcher = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                                     binary, "run", "--config", path],
                                    stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: open(log_path).read().count(" started ") == SERVICES or launcher.poll() is not None,
                 10, f"{binary}: {SERVICES} services started")
        time.sleep(0.3)
        pid1 = children(launcher.pid)[0]
        start = time.perf_counter()
        os.kill(pid1, signal.SIGTERM)
        launcher.wait(timeout=30)
        elapsed = (time.perf_counter() - start) * 1000
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    text = open(log_path).read()
    if "exiting code=0" not in text:
        raise SystemExit(f"{binary}: the stop did not end with code 0:\n{text}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="an ftinit binary built from an earlier commit")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    arguments = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (PID namespaces)")
    versions = [("before", arguments.before), ("now", FTINIT)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ftinit-stop-bench-") as work:
        for title, seconds, chain in SHAPES:
            path = config(work, seconds, chain)
            medians = {}
            cells = []
            for label, binary in versions:
                times = [stop_time(binary, path, work) for _ in range(arguments.runs)]
                medians[label] = statistics.median(times)
                cells.append(f"{medians[label]:.1f} ({min(times):.1f}–{max(times):.1f})")
            rows.append(f"| {title} | {arguments.runs} | {cells[0]} | {cells[1]} | "
                        f"{medians['before'] / medians['now']:.1f}× |")
            print(rows[-1], flush=True)
    intro = (f"ftinit as PID 1 of its own PID namespace with {SERVICES} services; SIGTERM to PID 1 until the namespace "
             "is gone, median ms (min–max). \"before\" stopped one service after the other in reverse start order; "
             "\"now\" stops along the `after` graph: unrelated services together, a chain from its end "
             f"(`python3 bench/stop.py --before PATH`, {arguments.runs} runs each; before: `{os.path.basename(arguments.before)}`, "
             f"now: `{shown(FTINIT)}`). The 200 ms is each service's own TERM handler (`sleep 0.2` in a shell trap).")
    write_table_section(arguments.output, BEGIN, END, "Stop along the dependency graph", intro,
                        ["services", "runs", "before ms", "now ms", "speed-up"], rows)


if __name__ == "__main__":
    main()
