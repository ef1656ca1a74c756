"""One county inside a province run: the same job `fanpin run` does, written to
`DIR/<县>/`, plus what the province needs back (its summary, the rows its own roster did not
take, for cross-county matching) and its Parquet table partitions.

A county that fails yields its Chinese error instead; it never stops the others (only Ctrl-C
does: `errors.INTERRUPTIONS`). An unexpected error (no FanpinError: a library's error, a panic
in Rust code, a bug) is said as `fanpin run` says it — file and stage where known, never the
exception's text — and its masked traceback goes to a crash report named after the county in
the province's output folder (`county_failure`). The function is the same under both engines
(the Spark engine calls it inside a task).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli.config import RunConfig
from fanpin_cli.errors import (
    INTERRUPTIONS,
    ConfigError,
    FanpinError,
    InternalError,
    mask_ids_in_text,
)
from fanpin_cli.province.config import ProvinceExtract
from fanpin_cli.province.ids import id_readings
from fanpin_cli.province.sources import ExtractOrigin, restore_rows, write_slice
from fanpin_cli.tables import C

TABLE_NAMES = ("links", "flags", "issues")
HISTORY_STAGE = "读取历史记录"  # a county's history view, read on the driver before its job
OPEN_SCHEMA = {
    "county": pl.String, "sector": pl.String, "source_file": pl.String, "source_row": pl.Int64,
    "id18": pl.String, C.match_status: pl.String,
}


@dataclass
class CountyJob:
    """What a county task needs (picklable: it travels to Spark executors).

    The county's record-key secret does not travel: the task reads `fanpin.key` beside the
    county's config itself (as it reads the county's files) and checks it against
    `key_check`, a one-way fingerprint taken on the driver (`county_key`)."""

    county: str
    given: str  # the config path as written in PROVINCE.toml
    config: RunConfig | None
    error: str | None = None  # set when the config could not be read on the driver
    key_check: str | None = None  # fingerprint of the county's fanpin.key, made on the driver
    history: Any = None  # history.runner.HistoryRun read on the driver (None: --no-history)


@dataclass
class Slice:
    """A county's rows of one province-wide extract (loaded frame rows, canonical columns)."""

    index: int
    extract: ProvinceExtract
    headings: dict[str, str]  # canonical field → the province file's own heading
    rows: pl.DataFrame
    origin: ExtractOrigin | None = None

    def described(self) -> dict[str, Any]:
        """The slice for summary.json: the province file, its sha256 and which of its rows.

        >>> from fanpin_cli.province.config import ProvinceExtract
        >>> e = ProvinceExtract("police", "/d/全省.csv", "全省.csv")
        >>> s = Slice(0, e, {}, pl.DataFrame({"source_row": [9, 4, 7]}), ExtractOrigin("全省.csv", "ab12", 40))
        >>> s.described()["rows"], s.described()["first_row"], s.described()["last_row"]
        (3, 4, 9)
        """
        origin = self.origin or ExtractOrigin(self.extract.source_file, None, 0)
        rows = self.rows["source_row"] if "source_row" in self.rows.columns else pl.Series([], dtype=pl.Int64)
        return {
            "path": origin.path, "sha256": origin.sha256, "rows_in_file": origin.rows_in_file,
            "rows": self.rows.height,
            "first_row": None if rows.is_empty() else int(rows.min()),
            "last_row": None if rows.is_empty() else int(rows.max()),
        }


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
    """`DIR/<县>/` (no path or reserved characters in the folder's name: a masked ID's `*` is `_`,
    as in the 乡镇 workbooks' names).

    >>> county_dir(Path("out"), "永顺县"), county_dir(Path("out"), "县433127***********8")
    (PosixPath('out/永顺县'), PosixPath('out/县433127___________8'))
    """
    from fanpin_cli.report.split import safe_name

    return out_root / safe_name(county)


def table_dir(out_root: Path, table: str, county: str) -> Path:
    """`DIR/tables/<table>/county=<县>/` (Hive-style partition for Spark, Hive, DuckDB)."""
    from fanpin_cli.report.split import safe_name

    return out_root / "tables" / table / f"county={safe_name(county)}"


def key_fingerprint(key: bytes) -> str:
    """A one-way fingerprint of a county key (to check that a task read the same key file the
    driver did, without the key itself travelling).

    >>> key_fingerprint(bytes(32)) == key_fingerprint(bytes(32)), len(key_fingerprint(bytes(32)))
    (True, 16)
    """
    return hashlib.blake2b(key, digest_size=8, person=b"fanpin-keycheck").hexdigest()


def county_key(config: RunConfig, check: str | None = None) -> bytes:
    """The county's record-key secret, read as `fanpin run` reads it (`fanpin.key` beside its
    config, made once if missing); with `check`, it must be the key the driver saw."""
    from fanpin_cli.keys import load_or_create_key

    try:
        key = load_or_create_key(config.config_path.parent)
    except OSError as error:
        raise ConfigError(f"无法读取或创建密钥文件 fanpin.key：{error.strerror}",
                          file=str(config.config_path.parent / "fanpin.key")) from error
    if check is not None and key_fingerprint(key) != check:
        raise ConfigError("此处读到的密钥文件 fanpin.key 与驱动程序读到的不同（各县文件夹须是每个执行节点都能读到的同一路径）",
                          file=str(config.config_path.parent / "fanpin.key"))
    return key


def with_history(job: CountyJob, out_root: Path) -> CountyJob:
    """`job` with its county's history view, read here (on the driver) once; a history file
    that cannot be read fails that county only."""
    if job.config is None:
        return job
    from fanpin_cli.history.runner import open_for_run

    try:
        return replace(job, history=open_for_run(job.config, out_dir=county_dir(out_root, job.county)))
    except INTERRUPTIONS:
        raise
    except BaseException as error:  # noqa: BLE001 - one county's history must not stop the province
        if not isinstance(error, FanpinError):
            error = InternalError.of(error, stage=HISTORY_STAGE)
        return replace(job, config=None, error=county_failure(error, job.county, out_root))


def run_county(job: CountyJob, out_root: Path, *, slices: list[Slice] | None = None, full_ids: bool = False,
               split: str = "township", executor: Executor | None = None) -> CountyOutcome:
    """Run one county into `DIR/<县>/` and its table partitions; never raises a FanpinError
    (it becomes the outcome's `error`). The history view comes with the job (`with_history`,
    None: no history); the month is recorded into the county's history file here as `fanpin
    run` records it: staged beside its outputs, counted once they are in place. `executor` runs the county's per-file work (default: one after another on this
    thread, as in a Spark task)."""
    started = time.perf_counter()
    outcome = CountyOutcome(job.county, job.given)
    if job.config is None:
        outcome.error = job.error or "配置文件无法读取"
        return outcome
    try:
        key = county_key(job.config, job.key_check)
        with tempfile.TemporaryDirectory(prefix="fanpin-province-") as tmp:
            config, restore = _with_slices(job.config, slices or [], Path(tmp))
            tables, summary, links = _compute_and_write(
                config, county_dir(out_root, job.county), restore, slices or [], key=key, full_ids=full_ids,
                split=split, past=job.history, executor=executor)
        for name, frame in tables.items():
            _write_partition(frame, table_dir(out_root, name, job.county), job.county)
        outcome.summary = summary
        outcome.open_rows = open_rows(job.county, links, job.config.reference_date)
    except INTERRUPTIONS:
        raise  # Ctrl-C stops the province, not one county
    except BaseException as error:  # noqa: BLE001 - a panic too: one county must not stop the province
        outcome.error = county_failure(error, job.county, out_root)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def county_failure(error: BaseException, county: str, out_root: Path | None) -> str:
    """The county's line for `error` (masked): a FanpinError as it is; anything else as an
    `InternalError` (an InternalError of `compute` names its file and stage) whose crash report
    (`crash.write_report`, masked always) goes into the province's output folder as
    `fanpin-error-<县>_<time>.txt` (`out_root` None: the current folder), the line saying where.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> county_failure(ConfigError("找不到文件", file="a.csv"), "永顺县", out)
    'a.csv：找不到文件'
    >>> line = county_failure(KeyError("433127199001011238"), "永顺县", out)
    >>> line.startswith("程序内部错误（KeyError）。详细信息已写入 "), [p.name[:17] for p in out.iterdir()]
    (True, ['fanpin-error-永顺县_'])
    """
    from fanpin_cli.crash import report_note, write_report

    if isinstance(error, FanpinError) and not isinstance(error, InternalError):
        return str(error)
    internal = error if isinstance(error, InternalError) else InternalError.of(error)
    try:
        if out_root is not None:  # (the histories are read before the province makes its folder)
            out_root.mkdir(parents=True, exist_ok=True)
        path = write_report(internal, [out_root.absolute()] if out_root is not None else [], label=county)
    except Exception:  # noqa: BLE001 - the county's line is said all the same
        path = None
    return mask_ids_in_text(str(internal) + report_note(path))


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


def _describe_slices(summary: Any, slices: list[Slice]) -> None:
    """Each slice's entry in the county's summary says what was read: the province file (as
    written in PROVINCE.toml), its sha256 and encoding, not the temporary slice file's."""
    for s in slices:
        for entry in summary.inputs:
            if entry.file == s.extract.source_file:
                origin = s.origin or ExtractOrigin(s.extract.source_file, None, 0)
                entry.sha256 = origin.sha256 or ""
                entry.encoding, entry.sheet, entry.header_row = origin.encoding, origin.sheet, origin.header_row
                entry.province_extract = s.described()


def _compute_and_write(config: RunConfig, out_dir: Path, restore: list[tuple[str, pl.Series]], slices: list[Slice],
                       *, key: bytes, full_ids: bool, split: str, past: Any,
                       executor: Executor | None) -> tuple[dict[str, pl.DataFrame], dict[str, Any], pl.DataFrame]:
    """The county's job as `fanpin run` does it (`compute` with the history view → `write_outputs`
    with the history rows staged beside → `ready` → swap → commit): its tables as written (IDs masked unless `full_ids`), summary.json's
    content, and its links with the rows' IDs (in memory only). The county's history file is
    its own (beside its config), so each task records only its own."""
    from fanpin_cli.history.runner import swapped_in
    from fanpin_cli.outdir import output_folder
    from fanpin_cli.outputs import mask_table, write_outputs
    from fanpin_cli.pipeline import compute, write_beside_history
    from fanpin_cli.tables import TABLES

    started = time.perf_counter()
    artifacts = compute(config, executor=executor, key=key, history=past.view if past else None)
    _restore_artifacts(artifacts, restore)
    _describe_slices(artifacts.summary, slices)
    # As `fanpin run`: the county folder locked, its outputs swapped in as a whole; the month's
    # history rows staged beside the writing, marked ready just before the swap (killed after
    # it, the month still counts), committed after it, rolled back if anything fails before.
    with output_folder(out_dir), swapped_in(out_dir, past, config) as placing:
        placing.artifacts = artifacts
        _, placing.pending = write_beside_history(
            lambda: write_outputs(artifacts, placing.stage, full_ids=full_ids, started=started, split=split),
            past, config, artifacts, out_dir)
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
