#!/usr/bin/env python3
"""Benchmark: `ftinit probe` latency next to `pgrep` and `curl -k` against the same service.

Starts ftinit (as a plain child, with its control socket in a temp dir) supervising nginx with
a TLS certificate and an https check, waits until the probe says ok, then times 1000 runs of
each command. Target (issue 3 / 7): probe p50 <= 5 ms.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FTINIT, TABLE_HEADER, shown, summary, time_command  # noqa: E402

RUNS = 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(work, port):
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"""daemon off;
worker_processes 1;
error_log stderr;
pid {work}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fcgi;
    uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {work}/cert.pem;
        ssl_certificate_key {work}/key.pem;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")
    with open(f"{work}/ftinit.conf", "w") as f:
        f.write(f"""[init]
socket = {work}/ftinit.sock

[tls]
cert = {work}/cert.pem
key = {work}/key.pem
names = localhost
ips = 127.0.0.1

[service nginx]
run = /usr/sbin/nginx -c {work}/nginx.conf
stop-signal = QUIT
check = http https://127.0.0.1:{port}/
""")


def main():
    work = tempfile.mkdtemp(prefix="ftinit-bench-probe-")
    port = free_port()
    write_config(work, port)
    ftinit = subprocess.Popen([FTINIT, "run", "--config", f"{work}/ftinit.conf"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = [FTINIT, "probe", "--socket", f"{work}/ftinit.sock"]
    try:
        deadline = time.time() + 10
        while subprocess.run(probe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            if time.time() > deadline:
                raise SystemExit("ftinit did not become healthy within 10 s")
            time.sleep(0.1)
        print(f"ftinit: {shown(FTINIT)}; nginx on 127.0.0.1:{port}; {RUNS} runs each\n")
        print(TABLE_HEADER)
        print(summary("`ftinit probe`", time_command(probe, RUNS)))
        print(summary("`pgrep -x nginx`", time_command(["pgrep", "-x", "nginx"], RUNS)))
        print(summary("`curl -sk https://...`", time_command(
            ["curl", "-sk", "-o", "/dev/null", f"https://127.0.0.1:{port}/"], RUNS)))
        print(summary("`true` (process spawn floor)", time_command(["true"], RUNS)))
    finally:
        ftinit.send_signal(signal.SIGTERM)
        ftinit.wait(timeout=15)


if __name__ == "__main__":
    main()
