"""Benchmark: the whole monthly job against the floor, side by side.

Generates (or reuses) a `fanpin synth` county of N households (3,000 ≈ 60,000 extract rows;
50,000 ≈ 180,000 persons with medical enrollment ≈ 1,000,000 rows), then runs, alternating in
fresh child processes, `benchmarks/bench_floor.py` (read every input as text and join on the raw
ID: the least work any matching job does) and `fanpin run`. Best of `--repeat` for each; prints
the ratio fanpin / floor by wall and by CPU time, each side's peak memory (the whole process
tree at one moment: fanpin's main process plus its report.xlsx process) and the load average.
`--python` runs fanpin with another interpreter (another checkout's venv: before/after).
Every fanpin round is a county's first month with history: the history a round writes beside the
config is removed before the next, so that rounds, sessions and before/after runs measure the
same work. A history already there (a real county's) is moved aside first and put back at the
end. fanpin's modules are compiled to bytecode first (`compileall`, as pip does when it installs
a wheel, and as Python itself does at a checkout's first run): where PYTHONDONTWRITEBYTECODE is
set (this project's machines set it) an editable checkout would otherwise compile all its
modules again in every process of every round; `--no-compile` measures that.

`--parts` also runs, in every round, fanpin without its 乡镇 workbooks, without its history and
without both: what each part of the job costs. `--against PYTHON` also runs, in every round, the
fanpin that interpreter imports (another checkout's venv: before/after), the two in turn, and
prints the mean of the rounds' differences: on a shared machine whose speed drifts from minute
to minute, a difference measured in the same rounds, not two runs of the benchmark apart.

    python benchmarks/bench_run.py [--households 50000] [--seed 1] [--repeat 3] [--parts] [--against PYTHON]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_measured(cmd: list[str]) -> dict:
    """Run `cmd` in a fresh wrapper process (`measure.py`): wall and CPU seconds (every process
    of the job: on a loaded machine CPU time is steadier than wall time), the peak memory of
    the whole process tree at one moment, the largest single process, the load average."""
    res = subprocess.run([sys.executable, str(HERE / "measure.py"), *cmd], capture_output=True, text=True, check=True)
    info = json.loads(res.stdout)
    if info["rc"] != 0:
        raise SystemExit(f"command failed ({info['rc']}): {' '.join(cmd)}\n{info['out']}\n{info['err']}")
    return info


def compile_package(python: str) -> str:
    """Compile the `fanpin_cli` that `python` imports to bytecode (its __pycache__ folders);
    returns the package folder."""
    code = ("import compileall, importlib.util, pathlib, sys; "
            "d = pathlib.Path(importlib.util.find_spec('fanpin_cli').origin).parent; "
            "sys.exit(0 if compileall.compile_dir(d, quiet=1) else 1); ")
    subprocess.run([python, "-P", "-c", code], check=True)
    found = subprocess.run([python, "-P", "-c", "import importlib.util, pathlib; "
                            "print(pathlib.Path(importlib.util.find_spec('fanpin_cli').origin).parent)"],
                           capture_output=True, text=True, check=True)
    return f"compiled {found.stdout.strip()}"


def _history_files(history: Path) -> list[Path]:
    """The history file and its sidecars (DuckDB's .wal, fanpin's lock), those that exist."""
    return [p for p in (history, *history.parent.glob(history.name + ".*"))
            if p.exists() and not p.name.endswith(".bench-saved")]


# The job without one of its parts (`--parts`): fanpin's own options, so that what each part costs
# is measured on the same county in the same rounds.
PARTS: dict[str, list[str]] = {
    "without the 乡镇 workbooks (--split none)": ["--split", "none"],
    "without the history (--no-history)": ["--no-history"],
    "without both": ["--split", "none", "--no-history"],
}


def _round_line(i: int, f: dict, r: dict) -> None:
    print(f"round {i + 1}: floor {f['wall']:.2f} s (CPU {f['cpu']:.2f} s), fanpin {r['wall']:.2f} s "
          f"(CPU {r['cpu']:.2f} s, peak {r['peak_tree_mb']:,.0f} MB), load {r['load_before']:.1f}", flush=True)


AGAINST = "the other fanpin (--against)"


def _against_lines(runs: list[dict], against: list[dict], python: str, other: str) -> str:
    """Both fanpins of `--against`: best and mean of their rounds, and the mean of the rounds'
    differences (this one minus the other; a round's two runs follow each other).

    >>> print(_against_lines([{"wall": 2.0, "cpu": 3.0}, {"wall": 1.8, "cpu": 2.9}],
    ...                      [{"wall": 2.1, "cpu": 3.2}, {"wall": 2.0, "cpu": 3.1}], "new", "old"))
    <BLANKLINE>
    | fanpin | best wall (CPU) | mean wall (CPU) |
    |---|---:|---:|
    | new | 1.80 s (2.90 s) | 1.90 s (2.95 s) |
    | old | 2.00 s (3.10 s) | 2.05 s (3.15 s) |
    mean of the 2 rounds' differences (new − old): -0.15 s wall, -0.20 s CPU
    """
    n = min(len(runs), len(against))

    def row(name: str, xs: list[dict]) -> str:
        return (f"| {name} | {min(x['wall'] for x in xs):.2f} s ({min(x['cpu'] for x in xs):.2f} s) "
                f"| {sum(x['wall'] for x in xs) / len(xs):.2f} s ({sum(x['cpu'] for x in xs) / len(xs):.2f} s) |")

    wall = sum(runs[i]["wall"] - against[i]["wall"] for i in range(n)) / n
    cpu = sum(runs[i]["cpu"] - against[i]["cpu"] for i in range(n)) / n
    return (f"\n| fanpin | best wall (CPU) | mean wall (CPU) |\n|---|---:|---:|\n{row(python, runs)}\n"
            f"{row(other, against)}\nmean of the {n} rounds' differences ({python} − {other}): "
            f"{wall:+.2f} s wall, {cpu:+.2f} s CPU")


def round_ratios(floors: list[dict], runs: list[dict]) -> str:
    """Each round's own ratio fanpin / floor (the two measured minutes apart at most): its
    median and range. On a host whose speed drifts, the best-of ratio pairs fanpin's best round
    with the floor's luckiest one; the rounds' own ratios do not.

    >>> round_ratios([{"wall": 0.5}, {"wall": 0.4}, {"wall": 0.5}], [{"wall": 2.0}, {"wall": 1.8}, {"wall": 2.2}])
    'median 4.40×, 4.00–4.50×'
    """
    ratios = sorted(r["wall"] / f["wall"] for f, r in zip(floors, runs, strict=True))
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
    return f"median {median:.2f}×, {ratios[0]:.2f}–{ratios[-1]:.2f}×"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="county folder (generated if missing)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/_out"))
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter that runs fanpin (e.g. another checkout's venv, for before/after)")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not compile fanpin's modules to bytecode before the rounds")
    parser.add_argument("--parts", action="store_true",
                        help="in every round also run fanpin without its 乡镇 workbooks, without its history and "
                             "without both (PARTS): what each part of the job costs, measured in the same rounds")
    parser.add_argument("--against", default=None,
                        help="also run, in every round, the fanpin of this interpreter (another checkout's venv), "
                             "the two in turn: before/after measured in the same rounds")
    args = parser.parse_args()
    county = args.dir or Path(f"benchmarks/_data/county-{args.households}-{args.seed}")
    if not (county / "fanpin.toml").is_file():
        from fanpin_cli.synth import generate_county

        t0 = time.perf_counter()
        generate_county(args.households, args.seed, county)
        print(f"generated {county} in {time.perf_counter() - t0:.1f} s")
    config = county / "fanpin.toml"
    sizes = {p.name: p.stat().st_size for p in county.iterdir() if p.is_file()}
    floor_cmd = [sys.executable, str(HERE / "bench_floor.py"), str(config), "--out", str(args.out / "floor")]
    run_out = args.out / "run"
    # -P: the working directory is not put on sys.path, so `--python` runs its own checkout
    # (an editable install), never the fanpin_cli folder of the directory it is started from.

    def fanpin_cmd(out: Path, *extra: str, python: str | None = None) -> list[str]:
        return [python or args.python, "-P", "-m", "fanpin_cli.cli", "run", str(config), "--out", str(out), "--quiet",
                *extra]

    run_cmd = fanpin_cmd(run_out)
    env_note = os.environ.get("POLARS_MAX_THREADS", "default")
    if not args.no_compile:
        for python in (args.python, *([args.against] if args.against else [])):
            print(f"bytecode: {compile_package(python)}", flush=True)
    from fanpin_cli.config import load_config
    from fanpin_cli.history.settings import history_settings

    history = history_settings(load_config(config)).path
    saved = [(p, p.with_name(p.name + ".bench-saved")) for p in _history_files(history)]
    for p, aside in saved:
        p.rename(aside)
    floors, runs, against = [], [], []
    parts: dict[str, list[dict]] = {name: [] for name in (PARTS if args.parts else {})}
    try:
        for i in range(args.repeat):
            floors.append(run_measured(floor_cmd))
            # the whole job, its parts and the other fanpin, in an order turned by one each round
            jobs = [None, *(PARTS if args.parts else ()), *([AGAINST] if args.against else [])]
            for name in jobs[i % len(jobs):] + jobs[:i % len(jobs)]:
                for leftover in _history_files(history):
                    leftover.unlink()  # a first month, every round
                if name is None:
                    runs.append(run_measured(run_cmd))
                    _round_line(i, floors[-1], runs[-1])
                    continue
                if name == AGAINST:
                    against.append(run_measured(fanpin_cmd(args.out / "against", python=args.against)))
                    print(f"  {AGAINST} ({args.against}): {against[-1]['wall']:.2f} s "
                          f"(CPU {against[-1]['cpu']:.2f} s, peak {against[-1]['peak_tree_mb']:,.0f} MB)", flush=True)
                    continue
                # an output folder of its own: the whole job's summary.json (read below) stays its last round's
                parts[name].append(run_measured(fanpin_cmd(args.out / f"part{list(PARTS).index(name) + 1}",
                                                           *PARTS[name])))
                print(f"  {name}: {parts[name][-1]['wall']:.2f} s (CPU {parts[name][-1]['cpu']:.2f} s)", flush=True)
    finally:
        for leftover in _history_files(history):
            leftover.unlink()
        for p, aside in saved:
            aside.rename(p)
    floor_best = min(f["wall"] for f in floors)
    run_best = min(r["wall"] for r in runs)
    floor_cpu = min(f["cpu"] for f in floors)
    run_cpu = min(r["cpu"] for r in runs)
    floor_peak = max(f["peak_tree_mb"] for f in floors)
    run_peak = max(r["peak_tree_mb"] for r in runs)
    run_single = max(r["peak_process_mb"] for r in runs)
    loads = [x[k] for x in floors + runs for k in ("load_before", "load_after")]
    summary = json.loads((run_out / "summary.json").read_text(encoding="utf-8"))
    report_mb = summary.get("report_process_peak_mb", 0) or 0
    roster_rows = next((e["rows_read"] for e in summary["inputs"] if e["sector"] == "roster"), 0)
    # --dir: the county's size is what its roster holds, not the --households default
    label = f"{args.households:,} households" if args.dir is None else f"{county.name} (roster {roster_rows:,} persons)"
    print(f"\ncounty: {label}, inputs {sum(sizes.values()) / 1e6:.0f} MB, polars threads {env_note}")
    print("| input | sector | rows | linked | review | unlinked |")
    print("|---|---|---:|---:|---:|---:|")
    for e in summary["inputs"]:
        print(f"| {e['file']} | {e['sector']} | {e['rows_read']:,} | {e.get('rows_linked') or '—'} "
              f"| {e.get('rows_review') or '—'} | {e.get('rows_unlinked') or '—'} |")
    print("\n| stage (last run) | seconds |\n|---|---:|")
    for stage, seconds in summary.get("stages", {}).items():
        print(f"| {stage} | {seconds:.2f} |")
    print(
        f"\nfloor best of {args.repeat}: {floor_best:.2f} s (peak {floor_peak:,.0f} MB)\n"
        f"fanpin best of {args.repeat}: {run_best:.2f} s (peak {run_peak:,.0f} MB main process and its children "
        f"together; largest single process {run_single:,.0f} MB"
        f"{f', report process {report_mb:,} MB' if report_mb else ''})\n"
        f"ratio fanpin / floor: {run_best / floor_best:.2f}×\n"
        f"each round's own ratio: {round_ratios(floors, runs)}\n"
        f"CPU seconds (all processes, best of {args.repeat}): floor {floor_cpu:.2f} s, fanpin {run_cpu:.2f} s, "
        f"ratio {run_cpu / floor_cpu:.2f}×\n"
        f"load average (1 min) during the runs: {min(loads):.1f}–{max(loads):.1f}"
    )
    if against:
        print(_against_lines(runs, against, args.python, args.against))
    if parts:
        print(f"\n| fanpin, best of {args.repeat} | wall | CPU | the whole job minus this: wall / CPU |\n|---|---:|---:|---:|")
        print(f"| the whole job | {run_best:.2f} s | {run_cpu:.2f} s | |")
        for name, rounds in parts.items():
            wall, cpu = min(r["wall"] for r in rounds), min(r["cpu"] for r in rounds)
            print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {run_best - wall:+.2f} s / {run_cpu - cpu:+.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
