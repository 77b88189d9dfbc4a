"""Helpers shared by the benchmark scripts: timing commands and printing figures."""
import os
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FTINIT = os.environ.get("FTINIT_BIN", os.path.join(ROOT, ".build", "release", "ftinit"))


def shown(path):
    """path as the printed figures name it: relative to the repository when inside it
    (`.build/release/ftinit`), so no machine's checkout directory lands in docs/BENCHMARKS.md."""
    relative = os.path.relpath(os.path.abspath(path), ROOT)
    return path if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


def time_command(argv, runs, env=None, check=True):
    """Runs argv `runs` times; returns the wall-clock durations in milliseconds."""
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        durations.append((time.perf_counter() - start) * 1000)
        if check and result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {result.returncode}")
    return durations


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(name, durations):
    """One table row: median, p99, spread."""
    return (f"| {name} | {len(durations)} | {statistics.median(durations):.2f} | "
            f"{percentile(durations, 99):.2f} | {min(durations):.2f} | {max(durations):.2f} |")


TABLE_HEADER = "| what | runs | p50 ms | p99 ms | min ms | max ms |\n|---|---|---|---|---|---|"


def write_table_section(path, begin, end, title, intro, header, rows):
    """Writes `## title`, its intro and one table (`header`, then `rows`, each a table line) into
    the document at `path` between the markers `begin` and `end` (see write_section)."""
    section = "\n".join([begin, f"## {title}", "", intro, "", "| " + " | ".join(header) + " |",
                         "|" + "---|" * len(header), *rows, end])
    write_section(path, begin, end, section)
    print(f"written: {os.path.relpath(path, ROOT)}")


def write_section(path, begin, end, section):
    """Puts `section` (which starts with `begin` and ends with `end`) in place of the one already
    between those markers in the document at `path`, or at its end."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    if begin in text:
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)
