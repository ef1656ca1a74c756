"""Benchmark: the whole monthly job on a synthetic county.

Generates (or reuses) a `fanpin synth` county of N households (50,000 ≈ 180,000 persons, all
7 extracts, medical enrollment ≈ 1,000,000 rows), then runs `fanpin run` in a child process
and reports wall time and peak memory (the child's max RSS).

    python benchmarks/bench_run.py [--households 50000] [--seed 1] [--dir benchmarks/_data/county-50000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="county folder (generated if missing)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/_out/run"))
    args = parser.parse_args()
    county = args.dir or Path(f"benchmarks/_data/county-{args.households}-{args.seed}")
    if not (county / "fanpin.toml").is_file():
        from fanpin_cli.synth import generate_county

        t0 = time.perf_counter()
        generate_county(args.households, args.seed, county)
        print(f"generated {county} in {time.perf_counter() - t0:.1f} s")
    sizes = {p.name: p.stat().st_size for p in county.iterdir() if p.is_file()}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "fanpin_cli.cli", "run", str(county / "fanpin.toml"), "--out", str(args.out), "--quiet"],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, sep="\n")
        return proc.returncode
    summary = json.loads((args.out / "summary.json").read_text(encoding="utf-8"))
    print(f"county: {args.households:,} households, inputs {sum(sizes.values()) / 1e6:.0f} MB")
    print("| input | sector | rows | linked | review | unlinked |")
    print("|---|---|---:|---:|---:|---:|")
    for e in summary["inputs"]:
        print(f"| {e['file']} | {e['sector']} | {e['rows_read']:,} | {e['rows_linked'] or '—'} | {e['rows_review'] or '—'} | {e['rows_unlinked'] or '—'} |")
    print("\n| stage | seconds |\n|---|---:|")
    for stage, seconds in summary.get("stages", {}).items():
        print(f"| {stage} | {seconds:.2f} |")
    report_mb = summary.get("report_process_peak_mb", 0)
    print(
        f"\nwall {wall:.1f} s (target ≤ 30 s), peak RSS {peak_mb:,.0f} MB main process"
        f" + {report_mb:,} MB report.xlsx process = at most {peak_mb + report_mb:,.0f} MB (target ≤ 4096 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
