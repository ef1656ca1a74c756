"""`--engine local`: the counties one after another in this process.

The same steps as the Spark engine, in polars: roster index → province extracts split by ID
(then address code, then 乡镇) → each county's run → cross-county matches.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import polars as pl

from fanpin_cli.errors import INTERRUPTIONS, FanpinError, internal_errors
from fanpin_cli.pipeline import STAGES, WORKERS, load_input
from fanpin_cli.province.county import CountyJob, CountyOutcome, Slice, county_failure, run_county
from fanpin_cli.province.cross import cross_matches
from fanpin_cli.province.ids import ROSTER_INDEX_SCHEMA, assign_rows, id_readings, roster_index
from fanpin_cli.province.plan import Plan
from fanpin_cli.province.result import EngineResult, Progress
from fanpin_cli.province.sources import load_extract, origin_of
from fanpin_cli.province.split import SplitStats, split_stats, unassigned_rows


def index_county(job: CountyJob, out_root: Path | None = None) -> tuple[CountyJob, pl.DataFrame]:
    """The county's roster index; a roster that cannot be read fails the county here, an
    unexpected error too (a library's error, a panic in Rust code: `county_failure`, its crash
    report in `out_root`), never the province."""
    empty = pl.DataFrame(schema=ROSTER_INDEX_SCHEMA)
    if job.config is None:
        return job, empty
    try:
        with internal_errors(STAGES[0], job.config.roster.source_file):
            roster = load_input(job.config.roster)
        return job, roster_index(job.county, roster.frame, job.config.reference_date)
    except INTERRUPTIONS:
        raise
    except BaseException as error:  # noqa: BLE001 - one county's roster must not stop the province
        return replace(job, config=None, error=county_failure(error, job.county, out_root)), empty


def run_local(plan: Plan, out_dir: Path, *, full_ids: bool = False, split: str = "township",
              progress: Progress | None = None) -> EngineResult:
    """Run the province with the local engine: each county as `fanpin run` runs it (its files
    on `WORKERS` threads; its history view, if any, read beforehand into its job)."""
    say = progress or (lambda _msg: None)
    say("读取各县花名册")
    indexed = [index_county(job, out_dir) for job in plan.jobs]
    jobs = [job for job, _ in indexed]
    index = pl.concat([idx for _, idx in indexed], how="vertical_relaxed")
    ref = next((j.config.reference_date for j in jobs if j.config is not None), None)

    slices: dict[str, list[Slice]] = {}
    stats: list[SplitStats] = []
    unassigned: list[pl.DataFrame] = []
    for i, extract in enumerate(plan.province.extracts):
        say(f"全省数据分县：{extract.source_file}")
        try:
            loaded = load_extract(extract)
        except FanpinError as error:
            stats.append(SplitStats(extract.source_file, extract.sector, error=str(error)))
            continue
        frame = loaded.frame
        origin = origin_of(extract, loaded)
        if ref is None:  # no county could be read: nothing to split into
            assign = frame.select("source_row", pl.lit(None, dtype=pl.String).alias("county"),
                                  pl.lit(None, dtype=pl.String).alias("assigned_by"))
        else:
            ids = id_readings(frame, ref)
            rows = frame.select("source_row", *[c for c in ("township",) if c in frame.columns]).with_columns(
                ids["id18"], ids["id_region"])
            assign = assign_rows(rows, index)
        stats.append(split_stats(extract, frame.height, assign))
        placed = frame.join(assign.drop_nulls("county").select("source_row", "county"), on="source_row")
        for (county,), part in placed.partition_by("county", as_dict=True).items():
            slices.setdefault(str(county), []).append(Slice(i, extract, loaded.headings, part.drop("county"), origin))
        lost = frame.join(assign.filter(pl.col("county").is_null()).select("source_row"), on="source_row")
        unassigned.append(unassigned_rows(lost, extract.sector, extract.source_file))

    outcomes: list[CountyOutcome] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for n, job in enumerate(jobs, start=1):
            say(f"运行 {job.county}（{n}/{len(jobs)}）")
            outcomes.append(run_county(job, out_dir, slices=slices.get(job.county), full_ids=full_ids, split=split,
                                       executor=pool))
    say("跨县比对")
    open_rows = pl.concat([o.open_rows for o in outcomes], how="vertical_relaxed")
    return EngineResult(outcomes, cross_matches(open_rows, index), stats,
                        pl.concat(unassigned, how="vertical_relaxed") if unassigned else None)
