#!/usr/bin/env python3
"""Benchmark: ftinit against tini, dumb-init, supervisord, s6 and runit; writes docs/BENCHMARKS.md.

Every init runs as PID 1 of its own PID namespace (`unshare --pid --fork --mount-proc`), as in a
container, supervising the same service: bench/svc.c (compiled here, static), which appends
CLOCK_MONOTONIC timestamps of its start and of the signals it gets to a log file and exits at once
on TERM. `svc launch` stamps the time just before it execs the init. Competitors are the Debian
packages (tini, dumb-init, supervisor, s6, runit). Needs root (PID namespaces). Figures only:
nothing here fails a build; the targets section says which targets are met.

    FTINIT_BIN=.build/release/ftinit python3 bench/compare.py [--quick] [--output docs/BENCHMARKS.md]

The inits and how each runs are in inits.py, the document in report.py.
"""
import argparse
import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FTINIT, ROOT, time_command  # noqa: E402
from inits import INITS, SERVICES, Session, build_svc, events, inits_for, read_lines  # noqa: E402
from metrics import InfluxDB, free_port, wait_for  # noqa: E402
from report import machine_facts, write_document  # noqa: E402

ORPHANS = 10000


def bench_sessions(work, svc, repeats, results):
    """Start overhead, idle memory, shutdown time (1 and 7 services), signal latency, mapped files."""
    for services in (1, SERVICES):
        for kind in inits_for(services):
            for repeat in range(repeats):
                session = Session(kind, work, [["serve", "LOG"]] * services, svc)
                try:
                    session.wait_started()
                    time.sleep(1)
                    results.setdefault(("start", services, kind), []).append(session.start_overhead_ms())
                    results.setdefault(("memory", services, kind), []).append(session.memory())
                    if repeat == 0 and services == 1:
                        results[("files", kind)] = session.mapped_files()
                        for sig in (signal.SIGUSR1, signal.SIGHUP):
                            control = session.control(sig)
                            results[("signal-path", kind)] = "control command" if control else "signal to PID 1"
                            results[("signal", sig, kind)] = [
                                session.signal_latency_ms(sig, control) for _ in range(results["signal_runs"])]
                    results.setdefault(("stop", services, kind), []).append(session.stop())
                    results.setdefault(("termed", services, kind), []).append(session.termed())
                finally:
                    session.kill()
                print(f"  {kind} {services} service(s) run {repeat + 1}/{repeats}", file=sys.stderr)


def bench_zombies(work, svc, repeats, orphans, results):
    for kind in INITS:
        for _ in range(repeats):
            session = Session(kind, work, [["orphans", str(orphans), "LOG"]], svc)
            try:
                log = session.logs[0]
                wait_for(lambda: events(log, "reaped") or events(log, "not-reaped") or session.launcher.poll() is not None,
                         180, f"{kind}: orphans reaped")
                released, reaped = events(log, "released"), events(log, "reaped")
                left = [int(f[2]) for f in read_lines(log) if f[0] == "not-reaped"]
                results.setdefault(("zombies", kind), []).append(
                    (reaped[0] - released[0]) / 1e6 if reaped and released else None)
                results.setdefault(("zombies-left", kind), []).append(left[0] if left else 0)
                session.stop()
            finally:
                session.kill()
            print(f"  {kind} zombies: {results[('zombies', kind)][-1]}", file=sys.stderr)


def bench_idle(work, svc, seconds, results):
    influx = InfluxDB(work, "bench")
    try:
        for kind in inits_for(SERVICES):
            ports = [free_port() for _ in range(SERVICES)]
            services = [["serve", "LOG", str(port)] for port in ports]
            session = Session(kind, work, services, svc, ports if kind == "ftinit" else None,
                              influx if kind == "ftinit" else None)
            try:
                session.wait_started()
                if kind == "ftinit":
                    probe = [FTINIT, "probe", "--socket", f"{session.work}/ftinit.sock"]
                    wait_for(lambda: "starting" not in subprocess.run(probe, capture_output=True, text=True).stdout,
                             30, "ftinit: every check passed")
                time.sleep(1)
                start_ns, start = session.cpu_ns(), time.monotonic()
                time.sleep(seconds)
                used = session.cpu_ns() - start_ns
                window = time.monotonic() - start
                results[("idle", kind)] = used / 1e9 / window * 100
                results[("idle-ms", kind)] = used / 1e6
                results[("idle-memory", kind)] = session.memory()
                session.stop()
            finally:
                session.kill()
            print(f"  {kind} idle: {results[('idle', kind)]:.4f} % of a core", file=sys.stderr)
        results["influx-points"] = influx.points()
    finally:
        influx.stop()


def bench_certs(work, runs, results):
    commands = {
        "ftinit cert": lambda key_type, out: [FTINIT, "cert", "--cert", f"{out}.crt", "--key", f"{out}.key",
                                               "--name", "localhost", "--ip", "127.0.0.1", "--key-type", key_type],
        "openssl req -x509": lambda key_type, out: ["openssl", "req", "-x509", "-nodes", "-days", "365", "-subj",
                                                    "/CN=localhost", "-addext",
                                                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                                                    "-keyout", f"{out}.key", "-out", f"{out}.crt"]
        + (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec-p256"
           else ["-newkey", "rsa:2048"]),
    }
    for key_type, count in (("ec-p256", runs), ("rsa2048", max(3, runs // 4))):
        for name, command in commands.items():
            durations = []
            for i in range(count):
                durations += time_command(command(key_type, f"{work}/cert-{name[:6]}-{key_type}-{i}"), 1)
            results[("cert", key_type, name)] = durations


def bench_probe(runs):
    """bench/probe.py's figures, its table kept as it prints it."""
    import probe
    probe.RUNS = runs
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        probe.main()
    text = output.getvalue().strip()
    p50 = None
    for line in text.splitlines():
        if line.startswith("| `ftinit probe`"):
            p50 = float(line.split("|")[3])
    return text, p50


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: fewer repeats, 5 s idle window")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    arguments = parser.parse_args()
    arguments.repeats = 2 if arguments.quick else 7
    arguments.signal_runs = 10 if arguments.quick else 50
    arguments.zombie_repeats = 1 if arguments.quick else 3
    arguments.orphans = ORPHANS
    arguments.idle = 5.0 if arguments.quick else 60.0
    probe_runs = 100 if arguments.quick else 1000
    cert_runs = 10 if arguments.quick else 50
    if os.geteuid() != 0:
        raise SystemExit("compare.py needs root: every init runs as PID 1 of a new PID namespace")
    missing = [tool for tool in ("unshare", "cc", "tini", "dumb-init", "s6-svscan", "runsvdir", "openssl", "curl", "nginx")
               if not shutil.which(tool)] + [p for p in ("/usr/bin/supervisord",) if not os.path.exists(p)]
    if missing:
        raise SystemExit(f"missing: {' '.join(missing)} (scripts/install-deps installs them)")

    # A SIGTERM (or Ctrl-C) unwinds through the `finally`s: no init is left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    facts = machine_facts()
    work = tempfile.mkdtemp(prefix="ftinit-bench-compare-")
    results = {"signal_runs": arguments.signal_runs}
    try:
        svc = build_svc(work)
        print("sessions (start, memory, signals, shutdown)", file=sys.stderr)
        bench_sessions(work, svc, arguments.repeats, results)
        print("zombies", file=sys.stderr)
        bench_zombies(work, svc, arguments.zombie_repeats, arguments.orphans, results)
        print("certificates", file=sys.stderr)
        bench_certs(work, cert_runs, results)
        print("probe", file=sys.stderr)
        probe_text, probe_p50 = bench_probe(probe_runs)
        print("idle CPU", file=sys.stderr)
        bench_idle(work, svc, arguments.idle, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open("/proc/loadavg") as f:
        results["load-end"] = " ".join(f.read().split()[:3])
    try:
        write_document(arguments.output, arguments, results, facts, probe_text, probe_p50)
    except Exception:
        import pickle
        saved = tempfile.NamedTemporaryFile(prefix="ftinit-bench-results-", suffix=".pickle", delete=False)
        pickle.dump((results, facts, probe_text, probe_p50), saved)
        print(f"writing the document failed; the measurements are in {saved.name}", file=sys.stderr)
        raise
    print(f"wrote {arguments.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
