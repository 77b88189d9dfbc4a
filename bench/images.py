"""Benchmark: each image's warm start to healthy, as the containers of `./setup.sh local`.

    ./setup.sh local up && python3 bench/images.py [--rounds 5] [--output docs/BENCHMARKS.md]

Warm start: `docker stop`, then `docker start` of the running stack's container, its volumes
already initialised, as Kubernetes restarts a crashed container. Measured from the
container's State.StartedAt to the last `healthy` line ftinit logs for the services that have
a check (ftinit's lines, timestamped by docker logs --timestamps): no polling delay counted.
Prints the table and writes it into the "Images" section of docs/BENCHMARKS.md, between
markers that bench/compare.py keeps when it rewrites the rest.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

from common import ROOT, write_table_section

PREFIX = "ft-services-local-"
SERVICES = ["influxdb", "mysql", "wordpress", "phpmyadmin", "nginx", "ftps", "grafana"]
TARGET_SECONDS = 1.0
BEGIN, END = "<!-- images:begin (bench/images.py) -->", "<!-- images:end -->"


def docker(*arguments, check=True):
    result = subprocess.run(["docker", *arguments], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"docker {' '.join(arguments)}: {result.stderr.strip()}")
    return result.stdout


def checked_services(image):
    """The [service NAME] sections of images/IMAGE/ftinit.conf that have a `check`."""
    names, current = set(), None
    with open(os.path.join(ROOT, "images", image, "ftinit.conf")) as f:
        for line in f:
            line = line.strip()
            header = re.match(r"\[service (\S+)\]", line)
            if header or line.startswith("["):
                current = header.group(1) if header else None
            elif current and re.match(r"check\s*=", line):
                names.add(current)
    return names


def timestamp(text):
    """docker's RFC 3339 time with nanoseconds, as seconds since the epoch."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", text)
    whole = datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return whole.timestamp() + float("0." + (match.group(2) or "0"))


def warm_start(image, deadline=60):
    """One stop and start of the image's container; seconds from its start to healthy."""
    name = PREFIX + image
    expected = checked_services(image)
    docker("stop", name)
    docker("start", name)
    started = timestamp(json.loads(docker("inspect", "-f", "{{json .State.StartedAt}}", name)))
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        logs = subprocess.run(["docker", "logs", "--timestamps", "--since", str(started - 0.001), name],
                              capture_output=True, text=True)
        healthy = {}
        for line in (logs.stdout + logs.stderr).splitlines():
            found = re.match(r"(\S+) ftinit: info healthy service=(\S+)", line)
            if found and found.group(2) in expected:
                healthy[found.group(2)] = timestamp(found.group(1))
        if set(healthy) == expected:
            return max(healthy.values()) - started
        time.sleep(0.2)
    raise SystemExit(f"{name}: not healthy within {deadline} s after docker start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    arguments = parser.parse_args()
    running = [image for image in SERVICES
               if docker("inspect", "-f", "{{.State.Running}}", PREFIX + image, check=False).strip() == "true"]
    if not running:
        sys.exit("no container of ./setup.sh local runs here: ./setup.sh local up first (DOCKER_HOST names the Docker)")
    rows = []
    for image in running:
        times = [warm_start(image) for _ in range(arguments.rounds)]
        median = statistics.median(times)
        rows.append(f"| {image} | {len(times)} | {median:.2f} | {min(times):.2f}–{max(times):.2f} | "
                    f"{'met' if median <= TARGET_SECONDS else 'missed'} |")
        print(rows[-1], flush=True)
    skipped = [image for image in SERVICES if image not in running]
    base = docker("image", "inspect", "-f", '{{index .Config.Labels "org.opencontainers.image.description"}}', "alpine:3.22",
                  check=False).strip()
    intro = ("Each image as a container of `./setup.sh local`, its volumes already initialised: `docker stop`, then "
             "`docker start`, as Kubernetes restarts a crashed container. Seconds from the container's start "
             "(State.StartedAt) to the last `healthy` line ftinit logs for its checked services "
             f"(`python3 bench/images.py`, {arguments.rounds} rounds each). Target: ≤ {TARGET_SECONDS:g} s. "
             f"Base image: {'the alpine:3.22 stand-in of scripts/standin-base (Debian 12 daemons)' if 'stand-in' in base else 'alpine:3.22'}."
             + (f" Not running, not measured: {', '.join(skipped)}." if skipped else ""))
    write_table_section(arguments.output, BEGIN, END, "Images: warm start to healthy", intro,
                        ["image", "rounds", "median s", "range s", "≤ 1 s"], rows)


if __name__ == "__main__":
    main()
