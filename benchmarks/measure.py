"""Run one command and report, as JSON on stdout: wall seconds, CPU seconds of the command and
every process it started (user + system), the peak resident memory of the whole process tree
at any one moment (sampled from /proc every 50 ms: the main process plus e.g. fanpin's
report.xlsx process), the largest single process, and the load average before and after.

    python benchmarks/measure.py fanpin run county/fanpin.toml --out out --quiet

Used by bench_run.py (in a fresh process per run, so that rusage counts only that run).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc; just `pid` elsewhere)."""
    out = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out += _tree(int(child))
    except OSError:
        pass
    return out


def measure(cmd: list[str]) -> dict:
    """Run `cmd` to its end; the figures described in the module docstring."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], sum(_rss_mb(p) for p in _tree(proc.pid)))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    watcher.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "rc": proc.returncode, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
        "peak_tree_mb": peak[0], "peak_process_mb": usage.ru_maxrss / 1024,
        "load_before": load_before, "load_after": os.getloadavg()[0],
        "out": out[-2000:], "err": err[-2000:],
    }


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1:])))
