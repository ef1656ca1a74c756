"""Regenerate the bundled sample county: `python -m fanpin_cli.synth [OUT_DIR]`.

Without OUT_DIR it rewrites `sample_data/` (300 households, seed 20261122).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..resources import resource_dir
from . import SAMPLE_HOUSEHOLDS, SAMPLE_SEED, generate_county


def regenerate_sample(out_dir: Path | None = None) -> Path:
    """Write the sample county into `out_dir` (default: the package's sample_data folder)."""
    target = Path(out_dir) if out_dir else resource_dir("sample_data")
    result = generate_county(SAMPLE_HOUSEHOLDS, SAMPLE_SEED, target)
    return result.out_dir


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = sys.argv[1:] if argv is None else argv
    out = regenerate_sample(Path(args[0]) if args else None)
    print(f"已生成样例数据：{out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
