"""`--engine spark`: each county's run is a Spark task; the province-wide ID matching runs in
Spark first.

1. Roster index: one task per county reads its roster (`mapInArrow`) → (county, id18, …).
2. Province-wide extracts (read on the driver by fanpin's loaders, or by Spark itself for
   Parquet/CSV at a URI) get their ID readings in Spark (`mapInArrow`); rows whose ID
   (exact or normalised) is on a roster are joined to that county in Spark; the rest are
   placed by address code or 乡镇 (the same polars function as the local engine, with the
   small hint tables broadcast), else listed as unassigned.
3. Counties: `groupBy(county).cogroup(rows).applyInArrow(county_task)` — Arrow → polars →
   the county's whole job (`county.run_county`, as `fanpin run` does it) → its outputs in
   `DIR/<县>/` and `DIR/tables/…/county=<县>/`; back come its summary and the rows its
   roster did not take.
4. Cross-county matches: those rows joined in Spark with every other county's roster.

The county configs are read, the rules checked and each county's history view read once on the
driver; each county's job (config + history view, no key: the task reads `fanpin.key` itself and
checks its fingerprint) travels pickled in that county's own row of the task input. The output folder must be one that
every executor can write: a local folder with `local[N]`, a shared mount on a cluster.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli.errors import FanpinError
from fanpin_cli.province.config import ProvinceExtract
from fanpin_cli.province.county import OPEN_SCHEMA, CountyJob, CountyOutcome, Slice, run_county
from fanpin_cli.province.cross import cross_matches
from fanpin_cli.province.ids import (
    ROSTER_INDEX_SCHEMA,
    assign_by_hint,
    county_townships,
    id_readings,
    regions_from_counts,
)
from fanpin_cli.province.plan import Plan
from fanpin_cli.province.result import EngineResult, Progress
from fanpin_cli.province.sources import ExtractOrigin, from_frame, load_extract, origin_of
from fanpin_cli.province.split import SplitStats, unassigned_rows

INSTALL_HINT = '未安装 pyspark：请运行 pip install "fanpin[spark]"（Spark 还需要 Java 17，见 README「全省运行」）'
EXTRACT_KEY = "_extract"


class SparkUnavailableError(FanpinError):
    """pyspark is not installed, or Spark (Java) cannot start."""


def _pyspark() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailableError(INSTALL_HINT) from exc
    return SparkSession


def spark_session(master: str | None = None) -> tuple[Any, bool]:
    """The active Spark session, or a new one (`master`, default `local[*]`); and whether it
    was made here (then the run stops it at the end)."""
    session_cls = _pyspark()
    active = session_cls.getActiveSession()
    if active is not None and master is None:
        return active, False
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = session_cls.builder.appName("fanpin-province")
    builder = builder.master(master or os.environ.get("SPARK_MASTER") or "local[*]")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java missing or wrong: say so in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkUnavailableError(f"无法启动 Spark（需要 Java 17，可设置 JAVA_HOME）：{first[:200]}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark, active is None


# ---------------------------------------------------------------------------------------------
# Arrow at the Spark boundary: strings as Arrow `string` (Spark rejects `large_string`).

def _spark_type(dtype: pl.DataType) -> str:
    if dtype == pl.Int64:
        return "long"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Float64:
        return "double"
    return "string"


def spark_schema(schema: dict[str, pl.DataType]) -> str:
    """A Spark DDL schema for a polars schema (column names quoted)."""
    return ", ".join(f"`{name}` {_spark_type(dtype)}" for name, dtype in schema.items())


def to_arrow(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> Any:
    """`frame` as a pyarrow Table of exactly `schema` (missing columns null)."""
    import pyarrow as pa

    types = {pl.Int64: pa.int64(), pl.Boolean: pa.bool_(), pl.Float64: pa.float64()}
    target = pa.schema([(n, types.get(d, pa.string())) for n, d in schema.items()])
    cols = [
        (pl.col(n) if n in frame.columns else pl.lit(None)).cast(d).alias(n) for n, d in schema.items()
    ]
    return frame.select(cols).to_arrow().cast(target)


def from_arrow(table: Any) -> pl.DataFrame:
    """A pyarrow Table or RecordBatch as polars."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def to_polars(df: Any, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A (small) Spark DataFrame collected as polars with `schema`."""
    frame = from_arrow(df.toArrow())
    if frame.width == 0:
        return pl.DataFrame(schema=schema)
    return frame.cast({k: v for k, v in schema.items() if k in frame.columns})


# ---------------------------------------------------------------------------------------------
# Task functions (run on executors; everything they use travels with them).

INDEX_SCHEMA = {**ROSTER_INDEX_SCHEMA, "error": pl.String}
RESULT_SCHEMA = {
    "county": pl.String, "kind": pl.String, "payload": pl.String,
    **{k: v for k, v in OPEN_SCHEMA.items() if k != "county"},
}


def _index_task(jobs: dict[str, CountyJob], out_dir: str) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        from fanpin_cli.province.local import index_county

        for batch in batches:
            for county in batch.column(0).to_pylist():
                job, index = index_county(jobs[county], Path(out_dir))
                if job.config is None:
                    index = pl.DataFrame({"county": [county], "error": [job.error]})
                yield from to_arrow(index, INDEX_SCHEMA).to_batches()
    return run


def _readings_task(reference_date: Any, schema: dict[str, pl.DataType]) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            frame = from_arrow(batch)
            ids = id_readings(frame, reference_date)
            yield from to_arrow(frame.with_columns(ids["id18"], ids["id_region"]), schema).to_batches()
    return run


def _hint_task(regions: pl.DataFrame, townships: pl.DataFrame, schema: dict[str, pl.DataType]) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            placed = assign_by_hint(from_arrow(batch), regions, townships, keys=(EXTRACT_KEY, "source_row"))
            yield from to_arrow(placed, schema).to_batches()
    return run


def _county_task(extracts: list[ProvinceExtract], headings: list[dict[str, str]], columns: list[list[str]],
                 origins: list[ExtractOrigin | None], out_dir: str, full_ids: bool, split: str) -> Any:
    def run(left: Any, right: Any) -> Any:
        counties = left.column("county").to_pylist()
        if not counties:  # rows for a county that is not run: nothing to do (counted as split)
            return to_arrow(pl.DataFrame(), RESULT_SCHEMA)
        county = counties[0]
        job = pickle.loads(left.column("job")[0].as_py())  # this county's job only (see _job_rows)
        rows = from_arrow(right)
        slices = []
        if rows.height:
            for (index,), part in rows.partition_by(EXTRACT_KEY, as_dict=True).items():
                i = int(index)
                frame = part.select("source_row", *columns[i]).with_columns(
                    pl.lit(extracts[i].source_file).alias("source_file"))
                slices.append(Slice(i, extracts[i], headings[i], frame, origins[i]))
        outcome = run_county(job, Path(out_dir), slices=sorted(slices, key=lambda s: s.index),
                             full_ids=full_ids, split=split)
        head = pl.DataFrame({"county": [county], "kind": ["summary"], "payload": [json.dumps(
            {"summary": outcome.summary, "error": outcome.error, "seconds": outcome.seconds},
            ensure_ascii=False, default=str)]})
        opened = outcome.open_rows.with_columns(pl.lit("open").alias("kind"))
        return to_arrow(pl.concat([head, opened], how="diagonal_relaxed"), RESULT_SCHEMA)
    return run


# ---------------------------------------------------------------------------------------------
# The driver.

def _read_extract(spark: Any, i: int, extract: ProvinceExtract) -> tuple[Any, dict[str, str], list[str], ExtractOrigin]:
    """A province extract as a Spark DataFrame (`_extract`, source_row, its columns as text),
    with its headings, columns and what was read."""
    if extract.is_remote:
        return _read_remote(spark, i, extract)
    loaded = load_extract(extract)
    frame = loaded.frame.drop("source_file")
    schema = {EXTRACT_KEY: pl.Int64, "source_row": pl.Int64, **{c: pl.String for c in frame.columns if c != "source_row"}}
    table = to_arrow(frame.with_columns(pl.lit(i, dtype=pl.Int64).alias(EXTRACT_KEY)), schema)
    df = spark.createDataFrame(table)
    return df, loaded.headings, [c for c in frame.columns if c != "source_row"], origin_of(extract, loaded)


def _read_remote(spark: Any, i: int, extract: ProvinceExtract) -> tuple[Any, dict[str, str], list[str], ExtractOrigin]:
    """Parquet or CSV at a URI, read by Spark; rows numbered in file order from 2 (header = 1)."""
    from pyspark.sql import functions as F

    reader = spark.read
    if extract.path.lower().rstrip("/").endswith(".csv"):
        raw = reader.option("header", True).option("encoding", extract.encoding or "UTF-8").csv(extract.path)
    else:
        raw = reader.parquet(extract.path)
    sample = from_frame(pl.DataFrame({c: [] for c in raw.columns}, schema={c: pl.String for c in raw.columns}),
                        extract)  # headings mapped (and required columns checked) like any file
    mapping = {v: k for k, v in sample.headings.items()}
    names = [mapping.get(c, c) for c in raw.columns]
    numbered = raw.rdd.zipWithIndex().map(lambda pair: (*[None if v is None else str(v) for v in pair[0]], pair[1] + 2))
    df = numbered.toDF([*names, "source_row"])
    cols = [F.col(f"`{n}`").cast("string").alias(n) for n in names]
    for n in names:  # strip and empty → null, as the loaders do
        cols[names.index(n)] = F.when(F.trim(F.col(f"`{n}`")) == "", None).otherwise(F.trim(F.col(f"`{n}`"))).alias(n)
    df = df.select(F.lit(i).cast("long").alias(EXTRACT_KEY), F.col("source_row").cast("long"), *cols)
    blank = None
    for n in names:
        cond = F.col(f"`{n}`").isNull()
        blank = cond if blank is None else blank & cond
    if blank is not None:
        df = df.filter(~blank)
    return df, sample.headings, names, ExtractOrigin(extract.source_file, None, df.count(), extract.encoding)


def run_spark(plan: Plan, out_dir: Path, *, master: str | None = None, full_ids: bool = False,
              split: str = "township", progress: Progress | None = None) -> EngineResult:
    """Run the province on Spark (see the module docstring)."""
    say = progress or (lambda _msg: None)
    say("启动 Spark")
    spark, owned = spark_session(master)
    counties = sum(1 for job in plan.jobs if job.config is not None)
    parallel = int(spark.sparkContext.defaultParallelism)
    settings = {
        # One county per task as far as hashing allows, and never merged: the inputs of a
        # county task are tiny (a name, a few rows) though its work is not, so adaptive
        # execution would otherwise coalesce every county into one task.
        "spark.sql.shuffle.partitions": str(max(2 * counties, parallel, 1)),
        "spark.sql.adaptive.coalescePartitions.enabled": "false",
    }
    before = {k: spark.conf.get(k, None) for k in settings}
    for k, v in settings.items():
        spark.conf.set(k, v)
    try:
        return _run(spark, plan, out_dir.resolve(), full_ids, split, say)
    finally:
        for k, v in before.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
        if owned:
            spark.stop()


def _job_rows(spark: Any, jobs: dict[str, CountyJob]) -> Any:
    """(county, job): each runnable county's job, pickled into its own row, so its task gets
    its own history view and nothing of the other counties'."""
    rows = [(c, bytearray(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)))
            for c, job in jobs.items() if job.config is not None]
    return spark.createDataFrame(rows, "county string, job binary")


def _run(spark: Any, plan: Plan, out_dir: Path, full_ids: bool, split: str, say: Progress) -> EngineResult:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    jobs = {job.county: job for job in plan.jobs}
    runnable = [job.county for job in plan.jobs if job.config is not None]
    parts = max(1, len(runnable))

    say("读取各县花名册（Spark）")
    names = spark.sparkContext.parallelize([(c,) for c in runnable], parts).toDF("county string")
    lean = {c: replace(job, history=None) for c, job in jobs.items()}  # rosters need no history
    index_all = names.mapInArrow(_index_task(lean, str(out_dir)), spark_schema(INDEX_SCHEMA)).persist(StorageLevel.MEMORY_AND_DISK)
    for row in index_all.filter(F.col("error").isNotNull()).select("county", "error").collect():
        jobs[row["county"]] = replace(jobs[row["county"]], config=None, error=row["error"])
    index = index_all.filter(F.col("error").isNull()).drop("error")

    refs = [j.config.reference_date for j in jobs.values() if j.config is not None]
    ref = refs[0] if refs else None
    stats: list[SplitStats] = []
    extract_rows: list[Any] = []
    headings: list[dict[str, str]] = []
    columns: list[list[str]] = []
    origins: list[ExtractOrigin | None] = []
    unassigned: list[pl.DataFrame] = []
    for i, extract in enumerate(plan.province.extracts):
        say(f"全省数据分县（Spark）：{extract.source_file}")
        try:
            df, heads, cols, origin = _read_extract(spark, i, extract)
        except FanpinError as error:
            stats.append(SplitStats(extract.source_file, extract.sector, error=str(error)))
            headings.append({})
            columns.append([])
            origins.append(None)
            continue
        headings.append(heads)
        columns.append(cols)
        origins.append(origin)
        rows_read = origin.rows_in_file
        if ref is None:
            placed = df.select(EXTRACT_KEY, "source_row", F.lit(None).cast("string").alias("county"),
                               F.lit(None).cast("string").alias("assigned_by"))
        else:
            placed = _assign(spark, df, index, ref)
        placed = placed.persist(StorageLevel.MEMORY_AND_DISK)
        stats.append(_split_stats(extract, rows_read, placed))
        lost = df.join(placed.filter(F.col("county").isNull()).select(EXTRACT_KEY, "source_row"),
                       [EXTRACT_KEY, "source_row"])
        unassigned.append(unassigned_rows(from_arrow(lost.drop(EXTRACT_KEY).toArrow()), extract.sector,
                                          extract.source_file))
        extract_rows.append(df.join(placed.filter(F.col("county").isNotNull()).select(EXTRACT_KEY, "source_row", "county"),
                                    [EXTRACT_KEY, "source_row"]))

    say("各县运行（Spark）")
    left = _job_rows(spark, jobs)
    if extract_rows:
        right = extract_rows[0]
        for more in extract_rows[1:]:
            right = right.unionByName(more, allowMissingColumns=True)
    else:
        right = spark.createDataFrame([], f"county string, {EXTRACT_KEY} long, source_row long")
    task = _county_task(list(plan.province.extracts), headings, columns, origins, str(out_dir), full_ids, split)
    results = (
        left.groupBy("county").cogroup(right.groupBy("county"))
        .applyInArrow(task, spark_schema(RESULT_SCHEMA))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    done: dict[str, CountyOutcome] = {}
    for row in results.filter(F.col("kind") == "summary").select("county", "payload").collect():
        data = json.loads(row["payload"])
        job = jobs[row["county"]]
        done[job.county] = CountyOutcome(job.county, job.given, data["summary"], data["error"], data["seconds"])
    outcomes = [done.get(c) or CountyOutcome(c, job.given, error=job.error or "未运行") for c, job in jobs.items()]

    say("跨县比对（Spark）")
    cross = _cross(results.filter(F.col("kind") == "open").drop("kind", "payload"), index)
    results.unpersist()
    index_all.unpersist()
    return EngineResult(outcomes, cross, stats, pl.concat(unassigned, how="vertical_relaxed") if unassigned else None)


def _assign(spark: Any, df: Any, index: Any, reference_date: Any) -> Any:
    """(_extract, source_row, county, assigned_by) for every row of `df`: by ID in Spark, then
    by address code / 乡镇 (small hint tables, broadcast)."""
    from pyspark.sql import functions as F

    reading_schema = {EXTRACT_KEY: pl.Int64, "source_row": pl.Int64, "id_number": pl.String,
                      "id_number_cell": pl.String, "township": pl.String, "id18": pl.String, "id_region": pl.String}
    keep = [c for c in ("id_number", "id_number_cell", "township") if c in df.columns]
    readings = df.select(EXTRACT_KEY, "source_row", *keep)
    for c in ("id_number", "id_number_cell", "township"):
        if c not in keep:
            readings = readings.withColumn(c, F.lit(None).cast("string"))
    readings = readings.select(*[c for c in reading_schema if c not in ("id18", "id_region")]).mapInArrow(
        _readings_task(reference_date, reading_schema), spark_schema(reading_schema))
    ids = index.select("county", "id18").distinct()
    by_id = (
        readings.filter(F.col("id18").isNotNull()).join(ids, "id18")
        .select(EXTRACT_KEY, "source_row", "county", F.lit("id").alias("assigned_by"))
    )
    rest = readings.join(by_id.select(EXTRACT_KEY, "source_row").distinct(), [EXTRACT_KEY, "source_row"], "left_anti")
    counts = from_arrow(
        index.groupBy("county", F.substring("id18", 1, 6).alias("id_region")).agg(F.count("*").alias("len")).toArrow()
    )
    towns = from_arrow(index.select("county", "township").distinct().toArrow())
    hint_schema = {EXTRACT_KEY: pl.Int64, "source_row": pl.Int64, "county": pl.String, "assigned_by": pl.String}
    hinted = rest.select(EXTRACT_KEY, "source_row", "id_region", "township").mapInArrow(
        _hint_task(regions_from_counts(counts), county_townships(towns), hint_schema), spark_schema(hint_schema))
    return by_id.unionByName(hinted)


def _split_stats(extract: ProvinceExtract, rows_read: int, placed: Any) -> SplitStats:
    """SplitStats from the Spark assignment (small aggregates collected)."""
    from pyspark.sql import functions as F

    counts = from_arrow(placed.groupBy("county", "assigned_by").agg(F.count("*").alias("n")).toArrow())
    twice = placed.filter(F.col("county").isNotNull()).groupBy(EXTRACT_KEY, "source_row").count().filter(
        F.col("count") > 1).count()
    done = counts.filter(pl.col("county").is_not_null())
    by = {r["assigned_by"]: int(r["n"]) for r in done.group_by("assigned_by").agg(pl.col("n").sum()).sort("assigned_by").to_dicts()}
    counties = {r["county"]: int(r["n"]) for r in done.group_by("county").agg(pl.col("n").sum()).sort("county").to_dicts()}
    lost = int(counts.filter(pl.col("county").is_null())["n"].sum())
    return SplitStats(extract.source_file, extract.sector, rows_read, by, twice, lost, counties)


def _cross(open_rows: Any, index: Any) -> pl.DataFrame:
    """Cross-county matches: found across the province in Spark, shaped by `cross.cross_matches`
    on the (small) matching rows."""
    from pyspark.sql import functions as F

    homes = index.select("id18", F.col("county").alias("home")).distinct()
    hits = open_rows.join(homes, "id18").filter(F.col("county") != F.col("home")).drop("home").distinct()
    twice = index.groupBy("id18").agg(F.countDistinct("county").alias("n")).filter(F.col("n") > 1).select("id18")
    wanted = hits.select("id18").union(twice).distinct()
    persons = index.join(wanted, "id18")
    return cross_matches(
        to_polars(hits.select(*OPEN_SCHEMA), OPEN_SCHEMA),
        to_polars(persons.select(*ROSTER_INDEX_SCHEMA), ROSTER_INDEX_SCHEMA),
    )
