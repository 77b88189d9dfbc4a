"""./setup.sh check: the subject's evaluation, run against the deployed stack from this host.

    ./setup.sh check [--context NAME | --local] [--lb-ip ADDR] [--only NAMES] [--skip NAMES] [--no-faults]

Every check talks to the services over the LB IP as an evaluator's browser and clients would;
kubectl (or docker, with --local) only answers what is about the platform: the Services, a
command in a container, restarts, readiness. Prints one row per check (PASS, FAIL or SKIP with
the reason, one line of evidence, seconds). Exit: 0 every check that ran passed, 1 one failed,
64 bad command line, 69 the run cannot start (no stack, no credentials, a missing client).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from backends import Kubernetes, LocalDocker, Unavailable  # noqa: E402
from faults import persistence, restart_on_death  # noqa: E402
from logins import ftps, ssh  # noqa: E402
from web import dashboard, grafana, nginx, phpmyadmin, phpmyadmin_through_nginx, single_entry_point, wordpress  # noqa: E402

# (name, the subject's words, function, restarts pods)
CHECKS = [
    ("entry-point", "single entry point: one LB IP, databases ClusterIP, no NodePort", single_entry_point, False),
    ("nginx", "nginx: 301 to https, 307 /wordpress, certificate for the IP", nginx, False),
    ("phpmyadmin-proxy", "phpmyadmin through nginx's reverse proxy: cookie login", phpmyadmin_through_nginx, False),
    ("wordpress", "wordpress: site, admin login, users of distinct roles", wordpress, False),
    ("phpmyadmin", "phpmyadmin on 5000: cookie login", phpmyadmin, False),
    ("ssh", "ssh into the nginx container; root refused", ssh, False),
    ("ftps", "ftps: explicit TLS, passive on the LB IP, plain FTP refused", ftps, False),
    ("grafana", "grafana: login, InfluxDB data source, a dashboard per service", grafana, False),
    ("persistence", "persistence: data survives a killed database", persistence, True),
    ("restart", "restart on death: every daemon killed, its container restarts", restart_on_death, True),
    ("dashboard", "Kubernetes dashboard", dashboard, False),
]
NAMES = [name for name, *_ in CHECKS]


class Stack:
    """What every check gets: the backend, the LB IP, the settings and passwords, and the
    services left out (absent: those of --skip)."""

    def __init__(self, backend, absent=()):
        self.backend, self.lb_ip, self.values, self.absent = backend, backend.lb_ip, backend.values, set(absent)


def names(text):
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown check {', '.join(unknown)} (checks: {', '.join(NAMES)})")
    return chosen


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """A bad command line: the usage and the message, exit 64 (as setup.sh)."""
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(64)


def arguments():
    parser = Parser(prog="./setup.sh check", description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--context", help="kubectl context of the cluster (default: MINIKUBE_PROFILE or minikube)")
    where.add_argument("--local", action="store_true", help="the stack of ./setup.sh local on the Docker of DOCKER_HOST")
    parser.add_argument("--lb-ip", help="the LoadBalancer IP (default: the Services' own; local: the network's gateway)")
    parser.add_argument("--only", type=names, default=[], help=f"comma-separated checks to run ({', '.join(NAMES)})")
    parser.add_argument("--skip", type=names, default=[], help="comma-separated checks not to run")
    parser.add_argument("--skip-reason", default="skipped on request (--skip)", help="what a --skip row says")
    parser.add_argument("--no-faults", action="store_true", help="skip persistence and restart (they restart pods)")
    return parser.parse_args()


def main():
    options = arguments()
    try:
        if options.local:
            backend = LocalDocker(options.lb_ip)
        else:
            backend = Kubernetes(options.context or os.environ.get("MINIKUBE_PROFILE", "minikube"), options.lb_ip)
    except Unavailable as missing:
        print(f"setup.sh check: cannot start: {missing}", file=sys.stderr)
        return 69
    # A skipped service (grafana) is also left out of the restart check.
    stack = Stack(backend, absent=options.skip)
    print(f"ft_services check: {backend.kind} stack, LB IP {stack.lb_ip}")
    rows, failed = [], False
    for name, title, check, restarts in CHECKS:
        reason = None
        if options.only and name not in options.only:
            reason = "not in --only"
        elif name in options.skip:
            reason = options.skip_reason
        elif restarts and options.no_faults:
            reason = "--no-faults (it restarts pods)"
        elif name in stack.absent:
            reason = f"{name} does not run on this stack"
        started = time.monotonic()
        if reason is None:
            try:
                ok, evidence = check(stack)
            except (OSError, ValueError, KeyError) as error:
                ok, evidence = False, f"{type(error).__name__}: {error}"
        else:
            ok, evidence = None, reason
        result = "SKIP" if ok is None else "PASS" if ok else "FAIL"
        failed |= ok is False
        rows.append((name, title, result, evidence, time.monotonic() - started))
        print(f"{result:4}  {name:16} {evidence}  ({rows[-1][4]:.1f} s)", flush=True)
    print()
    print("| check | the subject | result | evidence | s |")
    print("|---|---|---|---|---|")
    for name, title, result, evidence, seconds in rows:
        print(f"| {name} | {title} | {result} | {evidence.replace('|', '/')} | {seconds:.1f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
