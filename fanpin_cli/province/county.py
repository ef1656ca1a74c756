"""One county inside a province run: the same job `fanpin run` does, written to
`DIR/<县>/`, plus what the province needs back (its summary, the rows its own roster did not
take, for cross-county matching) and its Parquet table partitions.

A county that fails yields its Chinese error instead; it never stops the others. The function
is the same under both engines (the Spark engine calls it inside a task).
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli.config import RunConfig
from fanpin_cli.errors import FanpinError, mask_ids_in_text
from fanpin_cli.province.config import ProvinceExtract
from fanpin_cli.province.ids import id_readings
from fanpin_cli.province.sources import restore_rows, write_slice
from fanpin_cli.tables import C

TABLE_NAMES = ("links", "flags", "issues")
OPEN_SCHEMA = {
    "county": pl.String, "sector": pl.String, "source_file": pl.String, "source_row": pl.Int64,
    "id18": pl.String, C.match_status: pl.String,
}


@dataclass
class CountyJob:
    """What a county task needs (picklable: it travels to Spark executors)."""

    county: str
    given: str  # the config path as written in PROVINCE.toml
    config: RunConfig | None
    error: str | None = None  # set when the config could not be read on the driver
    key: bytes | None = None  # the county's record-key secret (fanpin.key beside its config)


@dataclass
class Slice:
    """A county's rows of one province-wide extract (loaded frame rows, canonical columns)."""

    index: int
    extract: ProvinceExtract
    headings: dict[str, str]  # canonical field → the province file's own heading
    rows: pl.DataFrame


@dataclass
class CountyOutcome:
    """What a county run gives back to the province."""

    county: str
    given: str
    summary: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0
    open_rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=OPEN_SCHEMA))

    @property
    def ok(self) -> bool:
        return self.error is None


def county_dir(out_root: Path, county: str) -> Path:
    """`DIR/<县>/`."""
    return out_root / county


def table_dir(out_root: Path, table: str, county: str) -> Path:
    """`DIR/tables/<table>/county=<县>/` (Hive-style partition for Spark, Hive, DuckDB)."""
    return out_root / "tables" / table / f"county={county}"


def run_county(job: CountyJob, out_root: Path, *, slices: list[Slice] | None = None, full_ids: bool = False,
               split: str = "township", history: bool = True, executor: Executor | None = None) -> CountyOutcome:
    """Run one county into `DIR/<县>/` and its table partitions; never raises a FanpinError
    (it becomes the outcome's `error`). `executor` runs the county's per-file work (default:
    one after another on this thread, as in a Spark task)."""
    started = time.perf_counter()
    outcome = CountyOutcome(job.county, job.given)
    if job.config is None:
        outcome.error = job.error or "配置文件无法读取"
        return outcome
    try:
        with tempfile.TemporaryDirectory(prefix="fanpin-province-") as tmp:
            config, restore = _with_slices(job.config, slices or [], Path(tmp))
            tables, summary, links = _compute_and_write(
                config, county_dir(out_root, job.county), restore, key=job.key, full_ids=full_ids, split=split,
                history=history, executor=executor)
        for name, frame in tables.items():
            _write_partition(frame, table_dir(out_root, name, job.county), job.county)
        outcome.summary = summary
        outcome.open_rows = open_rows(job.county, links, job.config.reference_date)
    except FanpinError as error:
        outcome.error = str(error)
    except Exception as error:  # noqa: BLE001 - one county's bug must not stop the province
        outcome.error = mask_ids_in_text(f"运行出错（{type(error).__name__}：{error}）")
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _with_slices(config: RunConfig, slices: list[Slice], folder: Path) -> tuple[RunConfig, list[tuple[str, pl.Series]]]:
    """The county's config plus one extract per province slice (a CSV in `folder`), and how to
    give their rows back their province row numbers."""
    if not slices:
        return config, []
    specs, restore = [], []
    for s in slices:
        spec, original = write_slice(s.rows, s.headings, s.extract, folder, s.index)
        specs.append(spec)
        restore.append((s.extract.source_file, original))
    return replace(config, extracts=[*config.extracts, *specs]), restore


def _restore_artifacts(artifacts: Any, restore: list[tuple[str, pl.Series]]) -> None:
    """Province row numbers on every table of the artifacts that names source rows."""
    for f in fields(artifacts):
        value = getattr(artifacts, f.name)
        if isinstance(value, pl.DataFrame):
            for source_file, original in restore:
                value = restore_rows(value, source_file, original)
            setattr(artifacts, f.name, value)


def _compute_and_write(config: RunConfig, out_dir: Path, restore: list[tuple[str, pl.Series]], *,
                       key: bytes | None, full_ids: bool, split: str, history: bool,
                       executor: Executor | None) -> tuple[dict[str, pl.DataFrame], dict[str, Any], pl.DataFrame]:
    """The county's job as `fanpin run` does it (history view → `compute` → `write_outputs` →
    history record): its tables as written (IDs masked unless `full_ids`), summary.json's
    content, and its links with the rows' IDs (in memory only). The county's history file is
    its own (beside its config), so each task reads and records only its own."""
    from fanpin_cli.outdir import output_folder, staged_folder
    from fanpin_cli.outputs import mask_table, write_outputs
    from fanpin_cli.pipeline import compute
    from fanpin_cli.tables import TABLES

    started = time.perf_counter()
    past = None
    if history:
        from fanpin_cli.history.runner import open_for_run

        past = open_for_run(config, out_dir=out_dir)
    artifacts = compute(config, executor=executor, key=key, history=past.view if past else None)
    _restore_artifacts(artifacts, restore)
    # As `fanpin run`: the county folder locked, its outputs swapped in as a whole.
    with output_folder(out_dir), staged_folder(out_dir) as stage:
        write_outputs(artifacts, stage, full_ids=full_ids, started=started, split=split)
    if past is not None:
        past.record(config, artifacts, out_dir)
    tables = {
        name: TABLES[name].for_csv(mask_table(name, getattr(artifacts, name), full_ids=full_ids))
        for name in TABLE_NAMES
    }
    return tables, artifacts.summary.to_dict(), artifacts.links


def open_rows(county: str, links: pl.DataFrame, reference_date: date) -> pl.DataFrame:
    """The county's extract rows its own roster did not take (review or unlinked) that carry a
    usable ID: candidates for another county's roster."""
    if links.height == 0 or "id_number" not in links.columns:
        return pl.DataFrame(schema=OPEN_SCHEMA)
    rows = links.filter(pl.col(C.match_status) != "linked")
    ids = id_readings(rows, reference_date)
    out = rows.select("sector", "source_file", pl.col("source_row").cast(pl.Int64), C.match_status).with_columns(
        ids["id18"], pl.lit(county).alias("county")
    )
    return out.filter(pl.col("id18").is_not_null()).select(list(OPEN_SCHEMA))


def _write_partition(frame: pl.DataFrame, folder: Path, county: str) -> None:
    """One county's rows of a table as `folder/part-0.parquet` (the partition column is the
    folder name, as Hive-style readers expect; it is not repeated inside the file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    frame.drop("county", strict=False).write_parquet(folder / "part-0.parquet")
