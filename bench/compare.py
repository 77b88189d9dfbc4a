#!/usr/bin/env python3
"""Benchmark: ftinit against tini, dumb-init, supervisord, s6 and runit; writes docs/BENCHMARKS.md.

Every init runs as PID 1 of its own PID namespace (`unshare --pid --fork --mount-proc`), as in a
container, supervising the same service: bench/svc.c (compiled here, static), which appends
CLOCK_MONOTONIC timestamps of its start and of the signals it gets to a log file and exits at once
on TERM. `svc launch` stamps the time just before it execs the init. Competitors are the Debian
packages (tini, dumb-init, supervisor, s6, runit). Needs root (PID namespaces). Figures only:
nothing here fails a build; the targets section says which targets are met.

    FTINIT_BIN=.build/release/ftinit python3 bench/compare.py [--quick] [--output docs/BENCHMARKS.md]
"""
import argparse
import contextlib
import io
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FTINIT, ROOT, percentile, time_command  # noqa: E402
from metrics import InfluxDB, children, cpu_seconds, free_port, run_nanoseconds, wait_for  # noqa: E402

INITS = ["ftinit", "tini", "dumb-init", "supervisord", "s6", "runit"]
SINGLE_CHILD = {"tini", "dumb-init"}
PACKAGES = {"tini": "tini", "dumb-init": "dumb-init", "supervisord": "supervisor", "s6": "s6", "runit": "runit"}
SERVICES = 7
ORPHANS = 10000
# Processes that make up "the init": PID 1 plus, for s6 and runit, their per-service supervisors.
SUPERVISORS = {"s6": "s6-supervise", "runit": "runsv"}
# Some kernels report 0 run time in /proc/PID/schedstat (schedstats off): then stat's 10 ms ticks.
SCHEDSTAT = bool(run_nanoseconds(os.getpid()))


# ---------------------------------------------------------------- statistics and formatting

def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "p10": percentile(values, 10), "p90": percentile(values, 90), "p99": percentile(values, 99),
            "n": len(values)}


def number(value, digits=2):
    if value is None:
        return "n/a"
    if abs(value) >= 100 or digits == 0:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def ratio(value, reference):
    if value is None or reference is None or reference == 0:
        return "n/a"
    return f"{value / reference:.1f}×"


def spread(s, kind="range", digits=2):
    if s is None:
        return "n/a"
    if kind == "p10-p90":
        return f"{number(s['p10'], digits)}–{number(s['p90'], digits)}"
    return f"{number(s['min'], digits)}–{number(s['max'], digits)}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def read_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except OSError:
        return []


def events(path, what):
    return [int(fields[1]) for fields in read_lines(path) if fields[0] == what]


# ---------------------------------------------------------------- one init, running

class Session:
    """One init as PID 1 of a new PID namespace, supervising `services` (lists of svc arguments)."""

    def __init__(self, kind, work, services, svc, checks_ports=None, influx=None):
        self.kind, self.work, self.svc = kind, tempfile.mkdtemp(dir=work, prefix=f"{kind}-"), svc
        self.logs = [f"{self.work}/svc{i}.log" for i in range(len(services))]
        self.launch_log = f"{self.work}/launch.log"
        argv = getattr(self, "argv_" + kind.replace("-", "_"))(
            [[svc] + [a.replace("LOG", log) for a in args] for args, log in zip(services, self.logs)],
            checks_ports, influx)
        self.output = open(f"{self.work}/init.log", "w")
        self.launcher = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", svc, "launch", self.launch_log] + argv,
            stdout=self.output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: children(self.launcher.pid) or self.launcher.poll() is not None, 10, f"{kind} started")
        self.pid1 = children(self.launcher.pid)[0]

    # Each argv_* writes the init's configuration for these services and returns its command line.
    def argv_ftinit(self, services, ports, influx):
        text = f"[init]\nsocket = {self.work}/ftinit.sock\n\n"
        if influx:
            text += (f"[metrics]\nurl = {influx.url}\ndatabase = {influx.database}\nservice = bench\n"
                     f"interval = 10s\n\n")
        for i, argv in enumerate(services):
            text += f"[service s{i}]\nrun = {shlex.join(argv)}\n"
            if ports:
                text += f"check = tcp 127.0.0.1:{ports[i]}\ncheck-interval = 10s\n"
            text += "\n"
        with open(f"{self.work}/ftinit.conf", "w") as f:
            f.write(text)
        return [FTINIT, "run", "--config", f"{self.work}/ftinit.conf"]

    def argv_tini(self, services, ports, influx):
        return ["tini", "--"] + services[0]

    def argv_dumb_init(self, services, ports, influx):
        return ["dumb-init"] + services[0]

    def argv_supervisord(self, services, ports, influx):
        self.conf = f"{self.work}/supervisord.conf"
        text = f"""[supervisord]
nodaemon=true
user=root
logfile={self.work}/supervisord.log
pidfile={self.work}/supervisord.pid
childlogdir={self.work}

[unix_http_server]
file={self.work}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.work}/supervisor.sock
"""
        for i, argv in enumerate(services):
            text += (f"\n[program:s{i}]\ncommand={shlex.join(argv)}\npriority={i + 1}\nstartsecs=0\n"
                     f"stopwaitsecs=10\nstdout_logfile=NONE\nstderr_logfile=NONE\n")
        with open(self.conf, "w") as f:
            f.write(text)
        return ["/usr/bin/supervisord", "-n", "-c", self.conf]

    def _service_dirs(self, services):
        self.scandir = f"{self.work}/scan"
        self.dirs = []
        for i, argv in enumerate(services):
            directory = f"{self.scandir}/s{i}"
            os.makedirs(directory)
            os.symlink(argv[0], f"{directory}/run")  # svc reads its arguments from ./svc.args
            with open(f"{directory}/svc.args", "w") as f:
                f.write("\n".join(argv[1:]) + "\n")
            self.dirs.append(directory)

    def argv_s6(self, services, ports, influx):
        self._service_dirs(services)
        return ["s6-svscan", self.scandir]

    def argv_runit(self, services, ports, influx):
        self._service_dirs(services)
        return ["runsvdir", "-P", self.scandir]

    # ------------------------------------------------------------ observing it

    def wait_started(self, timeout=30):
        wait_for(lambda: all(events(log, "start") for log in self.logs) or self.launcher.poll() is not None,
                 timeout, f"{self.kind}: every service started")
        if self.launcher.poll() is not None:
            raise SystemExit(f"{self.kind} exited {self.launcher.returncode}; see {self.work}/init.log")

    def start_overhead_ms(self):
        launch = events(self.launch_log, "launch")[0]
        return (min(events(log, "start")[0] for log in self.logs) - launch) / 1e6

    def init_pids(self):
        """PID 1 and, for s6/runit, its supervisor processes (one per service)."""
        pids, queue = [self.pid1], [self.pid1]
        wanted = SUPERVISORS.get(self.kind)
        while wanted and queue:
            for child in children(queue.pop()):
                queue.append(child)
                try:
                    with open(f"/proc/{child}/comm") as f:
                        if f.read().strip() == wanted:
                            pids.append(child)
                except OSError:
                    pass
        return pids

    def memory(self):
        os.sync()
        total = {"Rss": 0, "Pss": 0, "Private_Dirty": 0, "Anonymous": 0}
        for pid in self.init_pids():
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in total:
                        total[key] += int(rest.split()[0])
        return total

    def mapped_files(self):
        files = set()
        for pid in self.init_pids():
            with open(f"/proc/{pid}/maps") as f:
                for line in f:
                    fields = line.split()
                    if len(fields) >= 6 and fields[5].startswith("/"):
                        files.add(fields[5])
        return files

    def cpu_ns(self):
        """CPU time of the init's processes: schedstat (ns) when the kernel keeps it, else stat's ticks."""
        if SCHEDSTAT:
            return sum(run_nanoseconds(pid) or 0 for pid in self.init_pids())
        return sum(cpu_seconds(pid) * 1e9 for pid in self.init_pids())

    def signal_latency_ms(self, sig, control):
        """Sends `sig` to the init (or runs the control command for inits that do not forward) and
        returns the time until the first service's handler ran."""
        name = {signal.SIGUSR1: "usr1", signal.SIGHUP: "hup"}[sig]
        seen = len(events(self.logs[0], name))
        sent = time.monotonic_ns()
        if control:
            subprocess.run(control, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            os.kill(self.pid1, sig)
        deadline = time.monotonic() + 5
        while len(events(self.logs[0], name)) <= seen:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.0005)
        return (events(self.logs[0], name)[seen] - sent) / 1e6

    def control(self, sig):
        """The command that makes a non-forwarding init deliver `sig` to the service, or None."""
        letter = {signal.SIGUSR1: ("USR1", "-1", "1"), signal.SIGHUP: ("HUP", "-h", "hup")}[sig]
        if self.kind == "supervisord":
            return ["supervisorctl", "-c", self.conf, "signal", letter[0], "s0"]
        if self.kind == "s6":
            return ["s6-svc", letter[1], self.dirs[0]]
        if self.kind == "runit":
            return ["sv", letter[2], self.dirs[0]]
        return None

    def stop(self):
        """Asks the init to stop everything; returns ms until the namespace is empty (PID 1 reaped)."""
        start = time.perf_counter()
        if self.kind == "runit":
            # runit's own stage 3: stop every service and its runsv, then end runsvdir (which, on
            # SIGTERM or SIGHUP alone, exits without waiting: the kernel would SIGKILL the services).
            subprocess.run(["sv", "-w", "10", "force-shutdown"] + self.dirs,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.kill(self.pid1, signal.SIGTERM)
        try:
            self.launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.launcher.kill()
            self.launcher.wait()
            return None
        finally:
            self.output.close()
        return (time.perf_counter() - start) * 1000

    def termed(self):
        return sum(1 for log in self.logs if events(log, "term"))

    def kill(self):
        if self.launcher.poll() is None:
            self.launcher.kill()
            self.launcher.wait()
        if not self.output.closed:
            self.output.close()


# ---------------------------------------------------------------- the benchmarks

def build_svc(work):
    binary = f"{work}/svc"
    subprocess.run(["cc", "-O2", "-static", "-o", binary, os.path.join(ROOT, "bench", "svc.c")], check=True)
    return binary


def inits_for(services):
    return [kind for kind in INITS if services == 1 or kind not in SINGLE_CHILD]


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


# ---------------------------------------------------------------- facts about the machine and binaries

def command_output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine_facts():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"cpu": f"{cpu}, {os.cpu_count()} CPUs", "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": load,
            "os": command_output(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])}


def version(kind):
    if kind == "ftinit":
        return command_output([FTINIT, "version"]).splitlines()[0]
    return command_output(["dpkg-query", "-W", "-f", "${Version}", PACKAGES[kind]])


def executables(kind):
    return {"ftinit": [stripped_ftinit()], "tini": ["/usr/bin/tini"], "dumb-init": ["/usr/bin/dumb-init"],
            "supervisord": ["/usr/bin/supervisord", os.path.realpath("/usr/bin/python3")],
            "s6": ["/usr/bin/s6-svscan", "/usr/bin/s6-supervise"],
            "runit": ["/usr/bin/runsvdir", "/usr/bin/runsv"]}[kind]


def stripped_ftinit():
    """The stripped binary that images ship: FTINIT_STRIPPED, else .build/ftinit next to .build/release."""
    candidate = os.environ.get("FTINIT_STRIPPED") or os.path.join(os.path.dirname(os.path.dirname(FTINIT)), "ftinit")
    return candidate if os.path.isfile(candidate) else FTINIT


def tree_size(path):
    total = 0
    for directory, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(directory, f)) for f in files)
    return total


# ---------------------------------------------------------------- the document

def memory_rows(results, services):
    rows, reference = [], {}
    for kind in inits_for(services):
        samples = results.get(("memory", services, kind), [])
        pss = stats([m["Pss"] for m in samples])
        dirty = stats([m["Private_Dirty"] for m in samples])
        anon = stats([m["Anonymous"] for m in samples])
        if kind == "ftinit":
            reference = {"pss": pss and pss["median"], "dirty": dirty and dirty["median"]}
        processes = {"s6": f"s6-svscan + {services} s6-supervise", "runit": f"runsvdir + {services} runsv",
                     "supervisord": "python3 supervisord"}.get(kind, kind)
        rows.append([kind, processes, number(pss and pss["median"], 0), spread(pss, digits=0), ratio(pss and pss["median"], reference["pss"]),
                     number(dirty and dirty["median"], 0), spread(dirty, digits=0), ratio(dirty and dirty["median"], reference["dirty"]),
                     number(anon and anon["median"], 0)])
    return rows


def timing_rows(results, key, kinds, kind_spread="range", extra=None):
    rows, reference = [], None
    for kind in kinds:
        s = stats(results.get(key(kind), []))
        if kind == "ftinit":
            reference = s and s["median"]
        row = [kind, s["n"] if s else 0, number(s and s["median"]), spread(s, kind_spread), ratio(s and s["median"], reference)]
        rows.append(row + (extra(kind) if extra else []))
    return rows


def write_document(path, arguments, results, facts, probe_text, probe_p50):
    out = []
    add = out.append
    add("# Benchmarks: ftinit against tini, dumb-init, supervisord, s6 and runit\n")
    add("Generated by `make benchmarks` (`python3 bench/compare.py`"
        + (" --quick" if arguments.quick else "") + "); every figure below comes from that one command. "
        "Re-run it on an idle machine for publishable figures.\n")
    add("## Machine\n")
    add(table(["fact", "value"], [["CPU", facts["cpu"]], ["kernel", facts["kernel"]], ["OS", facts["os"]],
                                  ["date", facts["date"]],
                                  ["load average (1, 5, 15 min) at start", facts["load"]],
                                  ["load average at end", results["load-end"]],
                                  ["mode", "quick (fewer repeats, short idle window)" if arguments.quick else "full"]]))
    add("\nA load average near or above the CPU count means other work shared the machine: medians are "
        "robust to some of it, maxima are not.\n")
    add("## Method\n")
    add(f"""Every init runs as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc --kill-child`),
as in a container. The supervised service is `bench/svc.c` (compiled static by the script): it appends
`CLOCK_MONOTONIC` timestamps of its start and of every SIGUSR1/SIGHUP its handler sees to a log file,
and exits 0 at once on TERM/INT/QUIT. `svc launch` stamps the time and then execs the init, so
"start overhead" is exec of the init → exec of the first service. Configurations: ftinit one
`[service]` per service; supervisord one `[program]` each (`startsecs=0`, output to `NONE`,
`priority` in order, its control socket on); s6 a scan directory for `s6-svscan`; runit a service
directory for `runsvdir -P`, whose `run` is the svc binary itself (it reads its arguments from
`./svc.args`, so no shell is involved); tini and dumb-init `INIT -- svc ...`. **tini and dumb-init
supervise exactly one child**: they appear only in the one-service rows.

Repeats: {arguments.repeats} runs per init and service count for start, memory and shutdown;
{arguments.signal_runs} signals of each kind; {arguments.zombie_repeats} zombie run(s) of {arguments.orphans} orphans;
one idle run of {arguments.idle:g} s per init. "spread" is min–max unless said otherwise;
"ratio" is the competitor's median over ftinit's: lower is better in every table, so above 1×
means ftinit is ahead, below 1× behind. The zombie benchmark's 10,000 processes themselves push
the load average up: compare the load *at start* between runs.
""")
    add("## Versions\n")
    add(table(["init", "version", "source"], [[kind, version(kind), "this tree, static" if kind == "ftinit"
                                               else f"Debian package `{PACKAGES[kind]}`"] for kind in INITS]))

    add("\n## Binary size\n")
    add("\"Executable\" is the file(s) exec'd (ftinit: the stripped binary images ship); \"mapped\" adds every "
        "other distinct file the running init maps (shared libraries, locale archive, Python extension "
        "modules), read from /proc/PID/maps of the init processes with one service.\n")
    rows, reference = [], None
    for kind in INITS:
        exe = sum(os.path.getsize(p) for p in executables(kind))
        own = {os.path.realpath(p) for p in executables(kind)} | {os.path.realpath(FTINIT)}
        files = {f for f in results.get(("files", kind), set()) if os.path.realpath(f) not in own}
        mapped = exe + sum(os.path.getsize(f) for f in files if os.path.isfile(f))
        libraries = sorted(os.path.basename(f) for f in files if ".so" in os.path.basename(f))
        if kind == "ftinit":
            reference = mapped or exe
        note = {"ftinit": "static: libc, Swift runtime, libcrypto (TLS, certificates) linked in",
                "tini": "dynamic; `tini-static` (also in the package) is "
                        f"{os.path.getsize('/usr/bin/tini-static') / 1024:.0f} kB" if os.path.exists("/usr/bin/tini-static") else "dynamic",
                "dumb-init": "dynamic",
                "supervisord": "python3 interpreter + the `supervisor` package "
                               f"({tree_size('/usr/lib/python3/dist-packages/supervisor') / 1024:.0f} kB of .py, read, not mapped) "
                               "+ the Python standard library it imports",
                "s6": "s6-svscan + one s6-supervise per service, both on libskarnet",
                "runit": "runsvdir + one runsv per service"}[kind]
        rows.append([kind, " + ".join(os.path.basename(p) for p in executables(kind)), f"{exe / 1024:.0f}",
                     f"{mapped / 1024:.0f}", ratio(mapped, reference), ", ".join(libraries) or "none (static)", note])
    add(table(["init", "executable(s)", "executable kB", "mapped kB", "mapped ratio", "shared objects mapped", "what it includes"], rows))

    add("\n## Idle memory\n")
    add("Sum over the init's processes of `/proc/PID/smaps_rollup` after the services started, 1 s of "
        "idling and `sync` (so page-cache state does not distort file-backed pages). Private dirty is the "
        "memory the init alone costs; PSS shares file pages among their users. kB. ftinit's PSS is "
        "its static binary's touched text (libc, Swift runtime, libcrypto): no other process maps that file, "
        "so it counts in full, where the dynamic inits share libc's pages with every process on the host "
        "(in a container, with the services of that container).\n")
    for services in (1, SERVICES):
        add(f"\n### {services} supervised service{'s' if services > 1 else ''}\n")
        add(table(["init", "processes counted", "PSS median", "PSS spread", "PSS ratio", "private dirty median",
                   "private dirty spread", "private dirty ratio", "anonymous median"], memory_rows(results, services)))
    idle_memory = results.get(("idle-memory", "ftinit"))
    if idle_memory:
        add(f"\nftinit with {SERVICES} services, tcp checks every 10 s and `[metrics]` pushing every 10 s "
            f"(the idle-CPU run): PSS {idle_memory['Pss']} kB, private dirty {idle_memory['Private_Dirty']} kB.\n")

    add("\n## Start overhead\n")
    add("Exec of the init → exec of the first service (`CLOCK_MONOTONIC`), ms.\n")
    for services in (1, SERVICES):
        add(f"\n### {services} service{'s' if services > 1 else ''}\n")
        add(table(["init", "runs", "median ms", "spread", "ratio"],
                  timing_rows(results, lambda kind: ("start", services, kind), inits_for(services))))

    add("\n## TLS certificate generation\n")
    add("Wall time of one command that writes a new self-signed key + certificate (subjectAltName "
        "localhost, 127.0.0.1), process start included. `openssl req -x509 -newkey ...` is the reference.\n")
    rows = []
    for key_type in ("ec-p256", "rsa2048"):
        reference = stats(results[("cert", key_type, "ftinit cert")])
        for name in ("ftinit cert", "openssl req -x509"):
            s = stats(results[("cert", key_type, name)])
            rows.append([key_type, f"`{name}`", s["n"], number(s["median"]), spread(s, "p10-p90"), ratio(s["median"], reference["median"])])
    add(table(["key", "command", "runs", "median ms", "p10–p90", "ratio"], rows))
    add("\nRSA key generation is a random search for primes: its time varies widely from run to run.\n")

    add("\n## `ftinit probe` latency\n")
    add("From bench/probe.py: ftinit supervising nginx with TLS and an https check; each command is run "
        "in a loop and timed from spawn to exit. `pgrep` and `curl -k` ask the same question another way; "
        "none of the competitors has a probe socket (`supervisorctl status`, `s6-svstat`, `sv status` are the "
        "nearest, they report run state, not health).\n")
    add(probe_text)

    add("\n## Zombie reaping\n")
    add(f"The one service forks a child that forks {arguments.orphans} processes blocked on a pipe, then exits: "
        "they become orphans of PID 1 and all exit together when the pipe closes. Time from that exit "
        "(stamped by the child) until the PID namespace's /proc lists no more processes than before "
        "(scanned every 0.2 ms by the service), ms. It includes the orphans' own wake-up and exit.\n")
    rows = timing_rows(results, lambda kind: ("zombies", kind), INITS,
                       extra=lambda kind: [max(results.get(("zombies-left", kind), [0]) or [0])])
    for row in rows:
        unfinished = sum(1 for value in results.get(("zombies", row[0]), []) if value is None)
        if unfinished:  # runs that had not reaped everything after 60 s: their time is "> 60 s"
            row[1] = f"{row[1]} (+{unfinished} unfinished)"
            if row[2] == "n/a":
                row[2:5] = ["> 60000", "n/a", "> " + ratio(60000, stats(results.get(("zombies", "ftinit"), [])
                                                                        )["median"])]
    add(table(["init", "finished runs", "median ms", "spread", "ratio", "zombies left after 60 s (max)"], rows))
    add("\nA run that had not reaped every orphan 60 s after their exit stops measuring; its zombies are "
        "counted in the last column.\n")

    add("\n## Signal forwarding\n")
    add("Time from `kill(PID 1, SIG)` until the service's handler stamps it, ms. supervisord, s6 and runit do "
        "not forward signals to services (SIGHUP means reload/rescan to them, or for runsvdir: stop "
        "everything), so their rows time the documented control command instead: `supervisorctl signal`, "
        "`s6-svc -1`/`-h`, `sv 1`/`sv hup` — spawn of that command included. spread is p10–p90.\n")
    for sig in (signal.SIGUSR1, signal.SIGHUP):
        add(f"\n### {sig.name}\n")
        add(table(["init", "runs", "median ms", "p10–p90", "ratio", "path"],
                  timing_rows(results, lambda kind: ("signal", sig, kind), INITS, "p10-p90",
                              extra=lambda kind: [results.get(("signal-path", kind), "n/a")])))

    add("\n## Ordered shutdown\n")
    add("Services exit at once on TERM, so the time is the init's own overhead: stop request to PID 1 "
        "(SIGTERM; for runit, as its stage 3 does, `sv -w 10 force-shutdown` of every service directory, then "
        "SIGTERM to runsvdir, which on its own exits without stopping its services) until PID 1 "
        "was reaped (the kernel empties the namespace first), ms. \"TERM seen\" counts services whose handler "
        "got TERM (the others were SIGKILLed by the kernel when PID 1 exited). ftinit and supervisord stop in "
        "reverse order one at a time; s6 and runit stop all at once.\n")
    for services in (1, SERVICES):
        add(f"\n### {services} service{'s' if services > 1 else ''}\n")
        add(table(["init", "runs", "median ms", "spread", "ratio", "TERM seen (min)"],
                  timing_rows(results, lambda kind: ("stop", services, kind), inits_for(services),
                              extra=lambda kind: [f"{min(results.get(('termed', services, kind), [0]))}/{services}"])))

    add("\n## Idle CPU\n")
    add(f"CPU time (schedstat) of the init's processes over {arguments.idle:g} s with {SERVICES} idle services "
        "listening on tcp ports. ftinit: a tcp check per service every 10 s and `[metrics]` pushing every 10 s "
        f"to a real influxd ({results.get('influx-points', 0)} points stored). The others in their normal idle "
        "setup (they have no health checks or metrics): supervisord with its control socket, s6-svscan and "
        "runsvdir with their defaults. Source: "
        + ("/proc/PID/schedstat (ns)" if SCHEDSTAT else "/proc/PID/stat utime+stime (10 ms ticks: this kernel "
           "reports no schedstat run time, so 0.0000 means under one tick over the window)") + ".\n")
    rows, reference = [], results.get(("idle", "ftinit"))
    for kind in inits_for(SERVICES):
        value = results.get(("idle", kind))
        rows.append([kind, f"{value:.4f}" if value is not None else "n/a", ratio(value, reference),
                     f"{results.get(('idle-ms', kind), 0):.0f}"])
    add(table(["init", "% of one core", "ratio", "CPU ms in the window"], rows))

    add("\n## Targets\n")
    add(targets(results, probe_p50))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def targets(results, probe_p50):
    def median(key, field=None):
        values = results.get(key, [])
        values = [v[field] if field else v for v in values if v is not None]
        return statistics.median(values) if values else None

    rows = []
    dirty = median(("memory", SERVICES, "ftinit"), "Private_Dirty")
    sup = median(("memory", SERVICES, "supervisord"), "Private_Dirty")

    def verdict(value, limit, unit, why=""):
        if value is None:
            return "not measured", ""
        if value <= limit:
            return "met", ""
        return f"missed by {value - limit:.2f} {unit} ({value / limit:.1f}× the target)", why

    rows.append(["idle private dirty ≤ 1024 kB, 7 services", f"{number(dirty, 0)} kB",
                 *verdict(dirty, 1024, "kB", "see the anonymous column: Swift runtime metadata and heap, "
                                              "and the statically linked libc's/libcrypto's writable data")])
    if dirty and sup:
        factor = sup / dirty
        rows.append(["private dirty ≥ 10× below supervisord", f"{factor:.1f}×",
                     "met" if factor >= 10 else f"missed: {factor:.1f}× instead of 10×",
                     "" if factor >= 10 else "ftinit's own private dirty is the larger part; see the row above"])
    rows.append(["`ftinit probe` p50 ≤ 5 ms", f"{number(probe_p50)} ms", *verdict(probe_p50, 5, "ms",
                 "process start of a static binary dominates; compare the `true` row")])
    zombies = median(("zombies", "ftinit"))
    left = max(results.get(("zombies-left", "ftinit"), [0]) or [0])
    z = verdict(zombies, 1000, "ms", "the orphans' own exit is included")
    rows.append(["10,000 zombies reaped ≤ 1 s, none left", f"{number(zombies)} ms, {left} left",
                 z[0] if left == 0 else f"{left} left", z[1]])
    stop = median(("stop", SERVICES, "ftinit"))
    rows.append(["shutdown overhead ≤ 50 ms, 7 services", f"{number(stop)} ms", *verdict(stop, 50, "ms",
                 "ftinit stops services one at a time, waiting for each exit")])
    idle = results.get(("idle", "ftinit"))
    rows.append(["idle CPU ≤ 0.1 % of a core (checks + metrics)", f"{idle:.4f} %" if idle is not None else "n/a",
                 *verdict(idle, 0.1, "% of a core", "checks and metrics pushes every 10 s")])
    return table(["target", "ftinit (median)", "verdict", "why, when missed"], rows)


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
