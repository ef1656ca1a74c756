"""`fanpin province`: every county of a province in one run, on the local engine or Spark.

    result = run_province(Path("PROVINCE.toml"), Path("out"))
    result.summary["totals"]["counties_ok"]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli.errors import ConfigError
from fanpin_cli.idnum import mask_id
from fanpin_cli.outputs import write_csv, write_json
from fanpin_cli.privacy import mask_frame
from fanpin_cli.province.config import load_province
from fanpin_cli.province.cross import present
from fanpin_cli.province.plan import make_plan, read_histories
from fanpin_cli.province.result import EngineResult, Progress
from fanpin_cli.province.summary import province_summary
from fanpin_cli.province.workbook import write_province_workbook

ENGINES = ("local", "spark")


@dataclass
class ProvinceResult:
    """What a province run produced."""

    out_dir: Path
    summary: dict[str, Any]
    engine: EngineResult


def run_province(config_path: Path, out_dir: Path, *, engine: str = "local", master: str | None = None,
                 full_ids: bool = False, split: str = "township", history: bool = True,
                 progress: Progress | None = None) -> ProvinceResult:
    """Run every county of PROVINCE.toml into `out_dir` (see module docstring and README)."""
    started = time.perf_counter()
    if engine not in ENGINES:
        raise ConfigError(f"未知的引擎 {engine}（可选：local、spark）")
    province = load_province(config_path)
    remote = [e.source_file for e in province.extracts if e.is_remote]
    if remote and engine != "spark":
        raise ConfigError(f"远程路径只能用 --engine spark 读取：{'、'.join(remote)}", file=config_path.name)
    plan = make_plan(province, out_dir)
    if history:
        plan = read_histories(plan, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if engine == "spark":
        from fanpin_cli.province.spark import run_spark

        result = run_spark(plan, out_dir, master=master, full_ids=full_ids, split=split, progress=progress)
    else:
        from fanpin_cli.province.local import run_local

        result = run_local(plan, out_dir, full_ids=full_ids, split=split, progress=progress)
    summary = province_summary(province.name, config_path.name, engine, master, result,
                               time.perf_counter() - started)
    cross = present(result.cross, full_ids=full_ids)
    write_csv(cross, out_dir / "cross_county.csv")
    if result.unassigned is not None and result.unassigned.height:
        # every text masked, not the ID column alone: an extract's columns shifted by one put
        # IDs under 姓名 or 乡镇 (as `outputs.mask_table` masks a county's tables)
        shown = result.unassigned if full_ids else mask_frame(
            result.unassigned.with_columns(mask_id(pl.col("id_number")).alias("id_number")))
        write_csv(shown, out_dir / "unassigned.csv")
    write_province_workbook(out_dir / "province.xlsx", summary, cross)
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    write_json(summary, out_dir / "province_summary.json")
    return ProvinceResult(out_dir, summary, result)
