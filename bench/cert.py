#!/usr/bin/env python3
"""Benchmark: how long `ftinit cert` takes to write a new key + certificate, per key type.

Each run generates into fresh paths (so nothing is kept). `ftinit version` is timed the same
way as the baseline cost of starting the process; the difference is the TLS work itself.
Target (issue 3): an ec-p256 key + certificate written in under 20 ms.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FTINIT, TABLE_HEADER, shown, summary, time_command  # noqa: E402

RUNS = {"ec-p256": 200, "rsa2048": 30, "rsa3072": 10}


def main():
    work = tempfile.mkdtemp(prefix="ftinit-bench-cert-")
    print(f"ftinit: {shown(FTINIT)}\n")
    print(TABLE_HEADER)
    baseline = time_command([FTINIT, "version"], 200)
    print(summary("process start (`ftinit version`)", baseline))
    for key_type, runs in RUNS.items():
        durations = []
        for i in range(runs):
            cert, key = f"{work}/{key_type}-{i}.crt", f"{work}/{key_type}-{i}.key"
            durations += time_command([FTINIT, "cert", "--cert", cert, "--key", key, "--name", "localhost",
                                       "--ip", "127.0.0.1", "--key-type", key_type], 1)
        print(summary(f"`ftinit cert` {key_type} (generate + write)", durations))
    cert, key = f"{work}/kept.crt", f"{work}/kept.key"
    time_command([FTINIT, "cert", "--cert", cert, "--key", key, "--name", "localhost"], 1)
    print(summary("`ftinit cert` ec-p256, existing pair kept", time_command(
        [FTINIT, "cert", "--cert", cert, "--key", key, "--name", "localhost"], 200)))


if __name__ == "__main__":
    main()
