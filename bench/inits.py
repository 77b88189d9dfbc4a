"""The inits bench/compare.py measures, and one of them running: PID 1 of a new PID namespace
(`unshare --pid --fork --mount-proc`), supervising bench/svc.c services."""
import os
import shlex
import signal
import subprocess
import tempfile
import time

from common import FTINIT, ROOT
from metrics import children, cpu_seconds, run_nanoseconds, wait_for

INITS = ["ftinit", "tini", "dumb-init", "supervisord", "s6", "runit"]
SINGLE_CHILD = {"tini", "dumb-init"}
PACKAGES = {"tini": "tini", "dumb-init": "dumb-init", "supervisord": "supervisor", "s6": "s6", "runit": "runit"}
SERVICES = 7
# Processes that make up "the init": PID 1 plus, for s6 and runit, their per-service supervisors.
SUPERVISORS = {"s6": "s6-supervise", "runit": "runsv"}
# Some kernels report 0 run time in /proc/PID/schedstat (schedstats off): then stat's 10 ms ticks.
SCHEDSTAT = bool(run_nanoseconds(os.getpid()))


def inits_for(services):
    return [kind for kind in INITS if services == 1 or kind not in SINGLE_CHILD]


def build_svc(work):
    binary = f"{work}/svc"
    subprocess.run(["cc", "-O2", "-static", "-o", binary, os.path.join(ROOT, "bench", "svc.c")], check=True)
    return binary


def read_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except OSError:
        return []


def events(path, what):
    return [int(fields[1]) for fields in read_lines(path) if fields[0] == what]


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
