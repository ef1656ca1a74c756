"""Benchmark: `fanpin province` on N synthetic counties, `--engine local` against
`--engine spark --master local[2]`.

Generates (or reuses, under `--dir`) N `fanpin synth` counties of H households each (distinct
seeds, county names and so address codes), writes a PROVINCE.toml, then runs each engine as the
CLI does, in a fresh child process (Spark: session start included), and prints wall time per
engine and per county. Both engines' county outputs are compared (links, flags, issues rows).

    python benchmarks/bench_province.py [--counties 10] [--households 20000] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

# 湘西州's counties (their own address codes); `fanpin synth` cannot yet make a county outside
# this prefecture, so further counties are named 模拟县N (they share 永顺县's address code,
# which this benchmark, without province-wide extracts, does not use).
NAMES = ("永顺县", "龙山县", "保靖县", "古丈县", "花垣县", "凤凰县", "泸溪县")


def generate(root: Path, counties: int, households: int) -> Path:
    """The counties under `root` (reused when their config exists) and PROVINCE.toml."""
    from fanpin_cli.synth import generate_county

    names = [NAMES[i] if i < len(NAMES) else f"模拟县{i + 1}" for i in range(counties)]
    lines = ["[province]", 'name = "模拟州"', ""]
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


def run_engine(config: Path, out: Path, engine: str, master: str) -> float:
    """Wall seconds of `fanpin province` in a child process."""
    cmd = [sys.executable, "-m", "fanpin_cli.cli", "province", str(config), "--out", str(out), "--engine", engine, "-q"]
    if engine == "spark":
        cmd += ["--master", master]
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"{engine} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return wall


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
    root = args.dir or Path(f"benchmarks/_data/province_{args.counties}x{args.households}")
    config = generate(root, args.counties, args.households)
    results = {}
    for engine in args.engines.split(","):
        out = args.out / engine
        wall = run_engine(config, out, engine, args.master)
        summary = json.loads((out / "province_summary.json").read_text(encoding="utf-8"))
        per = {c["county"]: c["elapsed_seconds"] for c in summary["counties"]}
        results[engine] = {"wall": round(wall, 1), "ok": summary["totals"]["counties_ok"], "per_county": per}
        print(f"{engine}: {wall:.1f} 秒（{summary['totals']['counties_ok']}/{len(per)} 个县完成）；"
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
