"""Benchmark: `fanpin province` on N synthetic counties, `--engine local` against
`--engine spark --master local[2]`.

Generates (or reuses, under `--dir`, default `/tmp/prov_bench/<N>x<H>`) N `fanpin synth`
counties of H households each (distinct seeds, real county names of 湘西州 and 张家界市 and so
their own address codes), writes a PROVINCE.toml, then runs each engine as the CLI does, in a
fresh child process (Spark: session start included). For each engine it prints wall time, CPU
seconds and peak memory of the whole process tree (the driver, Spark's JVM and its Python
workers, fanpin's report.xlsx child processes; sampled from /proc every 0.5 s), the load
average while it ran and each county's seconds. Both engines' county outputs are compared
(links, flags, issues rows).

    python benchmarks/bench_province.py [--counties 10] [--households 20000] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

# Real county names (湘西州, then 张家界市), each with its own address code in `fanpin synth`;
# past these, 模拟县N (a made-up name: synth gives it 永顺县's code).
NAMES = ("永顺县", "龙山县", "保靖县", "古丈县", "花垣县", "凤凰县", "泸溪县", "吉首市", "慈利县", "桑植县",
         "永定区", "武陵源区")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def generate(root: Path, counties: int, households: int) -> Path:
    """The counties under `root` (reused when their config exists) and PROVINCE.toml."""
    from fanpin_cli.synth import generate_county

    names = [NAMES[i] if i < len(NAMES) else f"模拟县{i + 1}" for i in range(counties)]
    lines = ["[province]", 'name = "湘西州、张家界市（模拟）"', ""]
    for i, name in enumerate(names):
        folder = root / name
        if not (folder / "fanpin.toml").is_file():
            t = time.perf_counter()
            generate_county(households, 100 + i, folder, county=name)
            print(f"生成 {name}：{households} 户，{time.perf_counter() - t:.1f} 秒", flush=True)
        lines += ["[[counties]]", f'config = "{name}/fanpin.toml"', ""]
    path = root / "PROVINCE.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class Usage:
    """What a process tree used: peaks in MB (all at once, and per kind of process), CPU
    seconds, the 1-minute load average seen while it ran."""

    wall: float = 0.0
    cpu: float = 0.0
    peak_mb: float = 0.0
    peak_by_kind_mb: dict[str, float] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)


def _proc_table() -> dict[int, tuple[int, str, int, int]]:
    """pid → (parent pid, command name, CPU ticks (user + system), resident pages)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        # fields after the name: state ppid … utime(12) stime(13) … rss(22), 0-based from state
        table[int(entry.name)] = (int(rest[1]), name, int(rest[11]) + int(rest[12]), int(rest[21]))
    return table


def _kind(pid: int, root: int, name: str) -> str:
    if pid == root:
        return "driver"
    return "jvm" if name == "java" else "python_children"


def watch(proc: subprocess.Popen, usage: Usage, every: float = 0.5) -> None:
    """Sample `proc`'s process tree until it ends: summed RSS peak, per-process CPU ticks."""
    ticks: dict[int, int] = {}
    while proc.poll() is None:
        table = _proc_table()
        tree, frontier = {proc.pid}, [proc.pid]
        while frontier:
            parent = frontier.pop()
            kids = [p for p, (pp, *_rest) in table.items() if pp == parent and p not in tree]
            tree.update(kids)
            frontier += kids
        kinds: dict[str, float] = {}
        for pid in tree & table.keys():
            _pp, name, cpu, rss = table[pid]
            ticks[pid] = max(ticks.get(pid, 0), cpu)
            kind = _kind(pid, proc.pid, name)
            kinds[kind] = kinds.get(kind, 0.0) + rss * PAGE / 2**20
        usage.peak_mb = max(usage.peak_mb, sum(kinds.values()))
        for kind, mb in kinds.items():
            usage.peak_by_kind_mb[kind] = max(usage.peak_by_kind_mb.get(kind, 0.0), mb)
        with open("/proc/loadavg", encoding="ascii") as fh:
            usage.load.append(float(fh.read().split()[0]))
        usage.cpu = sum(ticks.values()) / TICK
        time.sleep(every)


def run_engine(config: Path, out: Path, engine: str, master: str) -> Usage:
    """Wall time, CPU and peak memory of `fanpin province` in a child process."""
    cmd = [sys.executable, "-m", "fanpin_cli.cli", "province", str(config), "--out", str(out), "--engine", engine, "-q"]
    if engine == "spark":
        cmd += ["--master", master]
    usage = Usage()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    with open(out.parent / f"{engine}.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
        sampler = threading.Thread(target=watch, args=(proc, usage), daemon=True)
        sampler.start()
        proc.wait()
        sampler.join()
    usage.wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Processes the tree waited for are in RUSAGE_CHILDREN (short-lived ones the sampler
    # missed); ones it did not (an orphaned JVM) only in the samples: take the larger.
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    usage.cpu = max(usage.cpu, waited)
    if proc.returncode != 0:
        tail = (out.parent / f"{engine}.log").read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{engine} failed ({proc.returncode}):\n{tail}")
    return usage


def same_rows(a: Path, b: Path) -> bool:
    """Two CSV outputs hold the same rows (in any order)."""
    fa, fb = (pl.read_csv(p, infer_schema=False) for p in (a, b))
    return fa.columns == fb.columns and fa.sort(fa.columns, nulls_last=True).equals(fb.sort(fb.columns, nulls_last=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--dir", type=Path, default=None, help="where the counties are (generated if missing)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/_out/province"))
    parser.add_argument("--engines", default="local,spark")
    args = parser.parse_args()
    root = args.dir or Path(f"/tmp/prov_bench/{args.counties}x{args.households}")
    config = generate(root, args.counties, args.households)
    results = {}
    for engine in [e for e in args.engines.split(",") if e]:
        out = args.out / engine
        out.parent.mkdir(parents=True, exist_ok=True)
        use = run_engine(config, out, engine, args.master)
        summary = json.loads((out / "province_summary.json").read_text(encoding="utf-8"))
        per = {c["county"]: c["elapsed_seconds"] for c in summary["counties"]}
        load = use.load or [0.0]
        results[engine] = {
            "wall": round(use.wall, 1), "cpu": round(use.cpu, 1), "peak_mb": round(use.peak_mb),
            "peak_by_kind_mb": {k: round(v) for k, v in use.peak_by_kind_mb.items()},
            "load_1min": {"min": min(load), "mean": round(sum(load) / len(load), 2), "max": max(load)},
            "ok": summary["totals"]["counties_ok"], "per_county": per,
        }
        kinds = "，".join(f"{k} {v:,.0f} MB" for k, v in use.peak_by_kind_mb.items())
        print(f"{engine}: {use.wall:.1f} 秒，CPU {use.cpu:.1f} 秒，内存峰值 {use.peak_mb:,.0f} MB（{kinds}），"
              f"负载 {min(load):.1f}–{max(load):.1f}（{summary['totals']['counties_ok']}/{len(per)} 个县完成）；"
              f"每县 {min(per.values()):.1f}–{max(per.values()):.1f} 秒", flush=True)
    if {"local", "spark"} <= set(results):
        names = results["local"]["per_county"]
        equal = all(
            same_rows(args.out / "local" / c / f, args.out / "spark" / c / f)
            for c in names for f in ("links.csv", "flags.csv", "quality_issues.csv")
        )
        print(f"两种引擎各县结果{'一致' if equal else '不一致'}；spark/local = "
              f"{results['spark']['wall'] / results['local']['wall']:.2f}")
    print(json.dumps({"counties": args.counties, "households": args.households, "master": args.master, **results},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
