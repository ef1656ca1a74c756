"""Time `check_file` on a roster of about 180,000 persons (budget: ≤ 5 s).

    python benchmarks/bench_quality.py [--households 50000] [--seed 3] [--dir DIR]

Generates the county with `fanpin_cli.synth.generate_county` (50,000 households ≈ 175,000
roster rows) unless --dir holds one, loads and prepares the roster (not timed), then times the
roster's `check_file` (pandera schema + every single-file check).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fanpin_cli.loaders import load_file  # noqa: E402
from fanpin_cli.prepare import prepare  # noqa: E402
from fanpin_cli.quality import check_file  # noqa: E402

BUDGET_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    root = args.dir
    if root is None or not (root / "fanpin.toml").exists():
        from fanpin_cli.synth import generate_county

        root = root or Path(tempfile.mkdtemp(prefix="fanpin-bench-"))
        generate_county(args.households, args.seed, root)
    config = tomllib.loads((root / "fanpin.toml").read_text(encoding="utf-8"))
    ref = date.fromisoformat(config["run"]["reference_date"])
    loaded = load_file(root / config["roster"]["path"], "roster", source_file=config["roster"]["path"])
    frame = prepare(loaded.frame, ref)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        issues = check_file(frame, "roster", headings=loaded.headings, reference_date=ref)
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(f"roster rows: {frame.height}  issues: {issues.height}  check_file: best {best:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)}; budget {BUDGET_SECONDS:.0f} s)")
    return 0 if best <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
