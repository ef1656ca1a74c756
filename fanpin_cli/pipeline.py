"""The monthly job: `compute` (load → validate → link → flag → quality, in memory) and
`run_job` (= compute + `outputs.write_outputs`, with today's local concurrency), and
`validate` for one file.

`compute` reads the input files and writes nothing: no thread pool or child process inside
(the caller passes an executor). Everything here raises `FanpinError` for problems the user
can act on; anything else that goes wrong in a stage (a library's error on an odd file, memory
that ran out, a bug) is raised as an `InternalError` naming the stage and the file, the
original chained.

    artifacts = compute(load_config(Path("fanpin.toml")))
    artifacts.flags.filter(pl.col("level") == "red")
    result = run_job(load_config(Path("fanpin.toml")), Path("out"))
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli import __version__
from fanpin_cli.artifacts import InputSummary, RuleSummary, RunArtifacts, RunSummary, Stage
from fanpin_cli.config import InputSpec, RunConfig
from fanpin_cli.coverage import available, input_coverage, rule_statuses
from fanpin_cli.domain import head_rank_of, household_heads
from fanpin_cli.errors import INTERRUPTIONS, FanpinError, InternalError, internal_errors
from fanpin_cli.fields import SECTOR_TITLES
from fanpin_cli.keys import combine, person_key, person_keys_known, read_key, row_keys
from fanpin_cli.loaders import LoadedFile, load_file, load_input
from fanpin_cli.memory import release_unused, shared_text
from fanpin_cli.outputs import write_csv, write_json, write_table_csv
from fanpin_cli.privacy import mask_data, mask_frame
from fanpin_cli.readahead import (
    LINK_APART_BYTES,
    LINK_TOGETHER_BYTES,
    ahead_specs,
    all_small,
    file_size,
    linked_together,
)
from fanpin_cli.rows import named_rows, row_keys_of
from fanpin_cli.tables import (
    ISSUES,
    LINK_COUNTS,
    LINKS,
    REVIEW,
    SCORECARD,
    STOCKTAKE,
    STOCKTAKE_COUNTS,
)
from fanpin_cli.tasks import Task, quick_handoffs, run_tasks

Progress = Callable[[str], None]
FlagHook = Callable[["FlagResult"], None]
ReadAhead = Callable[[InputSpec], "LoadedFile | None"]  # a file read elsewhere (`compute`), or None
LinksHook = Callable[[pl.DataFrame, pl.DataFrame], None]  # the final links and persons (`compute`)

WORKERS = 2
# A small county's run gets one worker more: its linking still runs WORKERS tasks at a time
# (`run_tasks`' limit), its checks run two at a time beside its rules (one at a time they were
# the longer of the two chains, ~0.3 s each at 3,000 households), and its pandera schemas are
# imported on it beside the linking (`compute`).
SMALL_WORKERS = WORKERS + 1
# A file of this many rows is checked after the rules are evaluated, not beside them (`compute`).
APART_ROWS = 500_000
# LINK_APART_BYTES (files linked one after another; a county whose every file is under it is
# small) and LINK_TOGETHER_BYTES (extracts linked together) are `readahead`'s, which the
# command's first step reads too; this module reads them as its own names (tests set them).
STAGES = ("读取数据", "证件与姓名规范化", "比对关联", "数据质量检查", "预警规则", "写出结果")


@dataclass
class RunResult:
    """What `run_job` produced: the output folder, the summary and the tables behind it."""

    out_dir: Path
    summary: RunSummary
    artifacts: RunArtifacts
    stages: list[Stage] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)

    @property
    def links(self) -> pl.DataFrame:
        return self.artifacts.links

    @property
    def flags(self) -> pl.DataFrame:
        return self.artifacts.flags

    @property
    def issues(self) -> pl.DataFrame:
        return self.artifacts.issues


@dataclass
class FlagResult:
    """What rule evaluation produced (given to `compute`'s `on_rules` hook as soon as the rules
    are evaluated and to its `on_flags` hook once the quality checks are done, so a caller can
    start the workbook while the rest is checked, summed up and written)."""

    flags: pl.DataFrame  # tables.FLAGS, IDs full
    review: pl.DataFrame  # tables.REVIEW, IDs full
    rule_counts: pl.DataFrame
    area_counts: pl.DataFrame
    rules: list[Any]  # report.model.RuleInfo
    members: pl.DataFrame  # roster persons: household_id, source_row, township, village
    exempted: pl.DataFrame | None = None  # tables.EXEMPTED (with a history)
    resolved: pl.DataFrame | None = None  # tables.RESOLVED (with a history)
    # The 数据质量 list (issues with names, IDs full), set once the quality checks are done
    # (before `on_flags`, after `on_rules`): the workbook counts its rows when it decides
    # whether to stay in memory.
    quality_detail: pl.DataFrame | None = None


class SerialExecutor(Executor):
    """Runs every task at once on the calling thread: `compute`'s default executor."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
            future.set_exception(exc)
        return future

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        return iter([fn(*args) for args in zip(*iterables, strict=False)])


def _input_summary(loaded: LoadedFile, links: pl.DataFrame | None, frame: pl.DataFrame | None = None) -> InputSummary:
    from fanpin_cli.quality.ids import numeric_id_column

    entry = InputSummary(
        file=loaded.source_file,
        sector=loaded.sector,
        sector_title=SECTOR_TITLES[loaded.sector],
        rows_read=loaded.rows_read,
        rows_blank=len(loaded.blank_rows),
        blank_rows=loaded.blank_rows[:100],
        rows_non_data=len(loaded.non_data_rows),
        non_data_rows=loaded.non_data_rows[:100],
        merged_cells=loaded.merged_cells,
        amount_units=loaded.amount_units,
        filled_down=loaded.filled_down,
        header_row=loaded.header_row,
        sheet=loaded.sheet,
        encoding=loaded.encoding,
        sha256=loaded.sha256,
        id_column_numeric=numeric_id_column(frame, loaded.headings) if frame is not None else None,
    )
    if links is not None:
        status = links["match_status"]
        entry.rows_linked = int((status == "linked").sum())
        entry.rows_review = int((status == "review").sum())
        entry.rows_unlinked = int((status == "unlinked").sum())
        entry.rows_rejected = int(links["rejected"].sum())
    return entry


def _input_summaries(rules: list[Any], roster_loaded: LoadedFile, roster: pl.DataFrame,
                     prepared: list[tuple[LoadedFile, pl.DataFrame]],
                     links: list[pl.DataFrame]) -> tuple[list[InputSummary], list[dict[str, Any]]]:
    """summary.json's entry of every input file (the roster first, with the rules' coverage of
    its columns) and the link totals (`_link_totals`)."""
    inputs = [_input_summary(roster_loaded, None, roster)] + [
        _input_summary(lf, lk, fr) for (lf, fr), lk in zip(prepared, links, strict=True)
    ]
    for entry, lf in zip(inputs, [roster_loaded, *(lf for lf, _ in prepared)], strict=True):
        coverage = input_coverage(lf, rules)
        entry.columns, entry.missing_fields = coverage["columns"], coverage["missing_fields"]
    return inputs, _link_totals(links)


def _evidence(
    prepared: list[tuple[LoadedFile, pl.DataFrame]], links: list[pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """Per sector: all its extract rows (prepared) with their link columns."""
    by_sector: dict[str, list[pl.DataFrame]] = {}
    for (loaded, frame), link in zip(prepared, links, strict=True):
        # The linked roster person's 户编号 replaces any the extract carries itself.
        joined = frame.drop("household_id", strict=False).with_columns(
            link.select(
                "roster_row", "household_id", "match_status", "match_method", "match_score", "name_id_conflict"
            ).get_columns()
        )
        by_sector.setdefault(loaded.sector, []).append(joined)
    # A sector whose files hold no data rows is no evidence at all (not "nobody is in it"):
    # left out, so no rule, cross check or stock-take reads it (coverage says why).
    merged = {s: pl.concat(frames, how="diagonal_relaxed") for s, frames in by_sector.items()}
    return {s: f for s, f in merged.items() if f.height}


def _roster_keys(roster: pl.DataFrame, key: bytes) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The roster's record and person keys by roster row, and its person keys by ID for the
    extracts to reuse (`keys.person_keys_known`; None without IDs)."""
    ids = roster["id18"] if "id18" in roster.columns else pl.Series([None] * roster.height, dtype=pl.String)
    keys = pl.DataFrame({
        "roster_row": roster["source_row"].cast(pl.Int64),
        "record_key": row_keys(roster, "roster", key),
        "person_key": person_key(ids, key),
    })
    return keys, person_keys_known(ids, keys["person_key"]) if "id18" in roster.columns else None


def _keyed_links(link: pl.DataFrame, frame: pl.DataFrame, sector: str, key: bytes,
                 known: pl.DataFrame | None = None) -> pl.DataFrame:
    """A file's links with the row's name, ID, record_key and person_key (same row order);
    `known`: the roster's person keys, not hashed again."""
    def col(name: str) -> pl.Series:
        if name in frame.columns:
            return frame[name].cast(pl.String)
        return pl.Series(name, [None] * frame.height, dtype=pl.String)

    return link.with_columns(
        col("name").alias("name"),
        col("id_number").alias("id_number"),
        row_keys(frame, sector, key),
        person_key(col("id18"), key, known),
    )


def _rows_of(frames: Iterable[pl.DataFrame], wanted: pl.DataFrame, *columns: pl.Expr | str,
             present: bool = False) -> pl.DataFrame:
    """`source_file`, `source_row` and `columns` of the rows of `frames` that `wanted` names (by
    its `source_file`, `source_row`), in the frames' order: what a lookup joined onto a few rows
    needs, instead of every row of the county once more (1.6M rows at 50,000 households).
    `present`: a column named (a text) that a frame lacks is left out of its rows (null there).

    >>> f = pl.DataFrame({"source_file": ["a", "a", "b"], "source_row": [2, 3, 2], "name": ["x", "y", "z"]})
    >>> _rows_of([f], pl.DataFrame({"source_file": ["a"], "source_row": [3]}), "name").rows()
    [('a', 3, 'y')]
    >>> _rows_of([f], pl.DataFrame({"source_file": ["a"], "source_row": [3]}), "name", "sex", present=True).rows()
    [('a', 3, 'y')]
    """
    keys = row_keys_of(wanted)
    parts = [  # the frames are long (the row index: 1.6M rows at 50,000 households), the rows wanted few
        named_rows(f.lazy().select(pl.col("source_file").cast(pl.String), pl.col("source_row").cast(pl.Int64),
                                   *[c for c in columns if not (present and isinstance(c, str) and c not in f.columns)]),
                   keys)
        for f in frames
    ]
    return pl.concat(pl.collect_all(parts), how="diagonal_relaxed")


def _review_queue(links: pl.DataFrame, extracts: dict[str, pl.DataFrame], roster: pl.DataFrame,
                  roster_keys: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """The review queue: both records side by side (tables.REVIEW), IDs in full.
    record_key = the pair (extract row, roster person): a verdict on it is a verdict on both."""
    review = links.filter(pl.col("match_status") == "review")
    if review.height == 0:
        return REVIEW.empty()
    ext_cols = {"name": "extract_name", "id_number": "extract_id", "birth_any": "extract_birth",
                "township": "extract_township", "village": "extract_village"}
    ext = _rows_of(extracts.values(), review, *ext_cols, present=True).rename(ext_cols, strict=False)
    ros_cols = {"source_row": "roster_row", "name": "roster_name", "id_number": "roster_id",
                "id_birth": "roster_birth", "township": "roster_township", "village": "roster_village"}
    ros = roster.select([c for c in ros_cols if c in roster.columns]).rename(ros_cols, strict=False)
    out = (
        review.drop("person_key")
        .join(ext, on=["source_file", "source_row"], how="left")
        .join(ros, on="roster_row", how="left")
        .join(roster_keys.rename({"record_key": "roster_key"}), on="roster_row", how="left")
    )
    pair = combine([pl.lit("review"), pl.col("record_key"), pl.coalesce("person_key", "roster_key")], key, out)
    return REVIEW.conform(out.with_columns(pair.alias("record_key")))


def _with_person(
    flags: pl.DataFrame, roster: pl.DataFrame, evidence: dict[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """Add the flagged person's 证件号码, 组 and 与户主关系 from the roster; household-level flags
    (no roster_row) show the household's 户主, by whom villages know a household; flags on a
    person not in the roster (应纳未纳) show the ID of their own extract row."""
    extra = [c for c in ("group", "relation") if c in roster.columns]
    # One query (its steps are small: their fixed cost per query was most of the time).
    person = roster.lazy().select(pl.col("source_row").alias("roster_row"), "id_number", *extra)
    out = flags.lazy().join(person, on="roster_row", how="left", maintain_order="left")
    rows = [f for f in (evidence or {}).values() if "id_number" in f.columns]
    if rows:
        own = _rows_of(rows, flags.filter(pl.col("source_row").is_not_null()), pl.col("id_number").alias("_row_id"))
        outside = pl.col("roster_row").is_null() & pl.col("household_id").is_null()
        out = out.join(own.lazy(), on=["source_file", "source_row"], how="left", maintain_order="left").with_columns(
            pl.when(outside).then(pl.col("_row_id")).otherwise(pl.col("id_number")).alias("id_number")
        ).drop("_row_id")
    if "household_id" not in roster.columns:
        return out.collect(engine="in-memory")
    # A household-level flag is shown by one person: the member its evidence names (the name
    # flagging put in person_name; the head first among namesakes), else the household's head
    # (domain.household_heads). Name, 证件号码, 组 and 与户主关系 are that person's.
    shown = out.join(household_heads(roster).rename({"source_row": "_head"}).lazy(), on="household_id", how="left",
                     maintain_order="left")
    if "name" in roster.columns:
        named = (  # the three columns it reads first: the roster is ~40 columns wide
            roster.lazy().select(pl.col("household_id").cast(pl.String), pl.col("name").alias("person_name"),
                                 pl.col("source_row").alias("_named"), head_rank_of(roster).alias("_rank"))
            .filter(pl.col("household_id").is_not_null())
            .sort("_rank", "_named")
            .unique(["household_id", "person_name"], keep="first", maintain_order=True)
            .drop("_rank")
        )
        shown = shown.join(named, on=["household_id", "person_name"], how="left", maintain_order="left")
    else:
        shown = shown.with_columns(pl.lit(None, dtype=pl.Int64).alias("_named"))
    fields = ("id_number", *extra)
    by_row = roster.lazy().select(pl.col("source_row").alias("_shown"), *[pl.col(c).alias(f"_s_{c}") for c in fields])
    household_level = pl.col("roster_row").is_null() & pl.col("household_id").is_not_null()
    return (
        shown.with_columns(pl.coalesce("_named", "_head").alias("_shown"))
        .join(by_row, on="_shown", how="left", maintain_order="left")
        .with_columns([pl.when(household_level).then(pl.col(f"_s_{c}")).otherwise(pl.col(c)).alias(c) for c in fields])
        .drop("_head", "_named", "_shown", *[f"_s_{c}" for c in fields])
        .collect(engine="in-memory")
    )


def _flag_keys(flags: pl.DataFrame, roster_keys: pl.DataFrame, row_index: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """record_key = rule + the flagged person (person key) or household (户编号) or, for rows
    about people not on the roster, the evidence row; + the evidence row's key when a rule
    fires more than once for the same subject. person_key = the flagged roster person's."""
    if flags.height == 0:
        return flags.with_columns(pl.lit(None, dtype=pl.String).alias("record_key"),
                                  pl.lit(None, dtype=pl.String).alias("person_key"))
    out = (
        flags.join(roster_keys.rename({"record_key": "_roster_key"}), on="roster_row", how="left", maintain_order="left")
        .join(_rows_of([row_index], flags, "record_key").rename({"record_key": "_evidence"}),
              on=["source_file", "source_row"], how="left", maintain_order="left")
    )
    subject = (
        pl.when(pl.col("roster_row").is_not_null())
        .then(pl.concat_str([pl.lit("p:"), pl.coalesce("person_key", "_roster_key")]))
        .when(pl.col("household_id").is_not_null()).then(pl.concat_str([pl.lit("h:"), pl.col("household_id")]))
        .otherwise(pl.concat_str([pl.lit("r:"), pl.col("_evidence")]))
    )
    out = out.with_columns(subject.alias("_subject"))
    twice = pl.len().over("rule_id", "_subject") > 1
    evidence = pl.when(twice).then(pl.col("_evidence")).otherwise(pl.lit(""))
    out = out.with_columns(evidence.alias("_ev"))
    keys = combine([pl.lit("flag"), pl.col("rule_id"), pl.col("_subject"), pl.col("_ev")], key, out)
    return out.with_columns(keys.alias("record_key")).drop("_roster_key", "_evidence", "_subject", "_ev")


def _issue_keys(issues: pl.DataFrame, row_index: pl.DataFrame, file_sectors: dict[str, str],
                key: bytes) -> pl.DataFrame:
    """record_key = check + the row's record key (the file's sector for file-level issues) +
    field/column."""
    if issues.height == 0:
        return issues.with_columns(pl.lit(None, dtype=pl.String).alias("record_key"))
    out = issues.join(_rows_of([row_index], issues, "record_key").rename({"record_key": "_row"}),
                      on=["source_file", "source_row"], how="left", maintain_order="left")
    where = pl.coalesce(pl.col("_row"), pl.col("source_file").replace_strict(file_sectors, default=None))
    out = out.with_columns(where.alias("_row"), pl.coalesce("field", "column").alias("_what"))
    # The message tells apart a check that fires twice on one cell (rare).
    twice = pl.len().over("check_id", "_row", "_what") > 1
    out = out.with_columns(pl.when(twice).then(pl.col("message")).otherwise(pl.lit("")).alias("_msg"))
    keys = combine([pl.lit("issue"), pl.col("check_id"), pl.col("_row"), pl.col("_what"), pl.col("_msg")], key, out)
    return out.with_columns(keys.alias("record_key")).drop("_row", "_what", "_msg")


def compute(
    config: RunConfig,
    *,
    executor: Executor | None = None,
    key: bytes | None = None,
    progress: Progress | None = None,
    on_flags: FlagHook | None = None,
    history: Any = None,
    on_rules: FlagHook | None = None,
    read_ahead: ReadAhead | None = None,
    on_links: LinksHook | None = None,
) -> RunArtifacts:
    """The whole monthly job on in-memory tables; reads the inputs, writes nothing.

    `executor` runs the per-file work and the rules (default: one after another on this
    thread). `key` is the county's secret for record/person keys (default: `fanpin.key`
    beside the config if there is one, else a key for this run alone: `keys.read_key`). `on_flags` is called
    with the flags once the quality checks are done (e.g. to start the workbook then); `on_rules`
    with the same result as soon as the rules are evaluated, in the thread that evaluated them,
    while the quality checks may still run (its `quality_detail` is not known yet). `history` is a
    `history.HistoryView` (tables read from the history before the run; never a connection):
    confirmed/rejected review pairs, exemptions, statuses and resolved flags. With every input
    file under LINK_APART_BYTES, polars runs the lazy queries on its in-memory engine
    (`in_memory_queries`). `read_ahead(spec)`: the LoadedFile of input `spec` if it was read
    elsewhere (the report process: `BackgroundReport.read_ahead`), else None (read here).
    `on_links(links, persons)` is called, on the calling thread, once the links are final (before
    the rules): the very frames that become `links` and `persons` of the artifacts.
    """
    small = _small(config)
    with in_memory_queries(small):
        return _compute(config, executor=executor, key=key, progress=progress, on_flags=on_flags, history=history,
                        on_rules=on_rules, small=small, read_ahead=read_ahead, on_links=on_links)


def _read(spec: InputSpec, read_ahead: ReadAhead | None) -> LoadedFile:
    """Input `spec` as read elsewhere (`read_ahead`), else read now (`load_input`)."""
    loaded = read_ahead(spec) if read_ahead is not None else None
    return loaded if loaded is not None else load_input(spec)


def _small(config: RunConfig) -> bool:
    """Whether every input file is under LINK_APART_BYTES: a small county (`in_memory_queries`,
    the schemas imported while its extracts are linked, the checks run two at a time)."""
    return all_small(config.inputs, LINK_APART_BYTES)


@contextmanager
def in_memory_queries(wanted: bool = True) -> Iterator[None]:
    """Within the block, polars collects lazy queries on its in-memory engine instead of
    choosing one itself ("auto", which picks the streaming engine: ~80 µs more start-up a
    query, on the thousands of small queries of a small county; a 3,000-household county's
    single-file checks 210-225 → 160-170 ms of CPU, same results); the engine chosen before is
    restored after it. Not when `wanted` is false, nor when the user chose an engine
    (`POLARS_ENGINE_AFFINITY`). The setting is the process's: queries of other threads meanwhile
    use it too.

    >>> before = os.environ.get("POLARS_ENGINE_AFFINITY")
    >>> with in_memory_queries():
    ...     os.environ["POLARS_ENGINE_AFFINITY"] == (before or "in-memory")
    True
    >>> os.environ.get("POLARS_ENGINE_AFFINITY") == before
    True
    """
    if not wanted or "POLARS_ENGINE_AFFINITY" in os.environ:
        yield
        return
    pl.Config.set_engine_affinity("in-memory")
    try:
        yield
    finally:
        pl.Config.set_engine_affinity(None)


def _compute(
    config: RunConfig,
    *,
    executor: Executor | None,
    key: bytes | None,
    progress: Progress | None,
    on_flags: FlagHook | None,
    history: Any,
    on_rules: FlagHook | None,
    small: bool,
    read_ahead: ReadAhead | None = None,
    on_links: LinksHook | None = None,
) -> RunArtifacts:
    """`compute` (its polars engine chosen; `small`: every input under LINK_APART_BYTES). What
    only the later stages need (normalising, linking, rules, checks) is imported once the files
    are being read (`_imported_meanwhile`), not before; a small county's schemas once its
    roster is indexed (`SCHEMAS`)."""
    from fanpin_cli.flagging import load_rules

    pool = executor or SerialExecutor()
    stages: list[Stage] = []
    say = progress or (lambda _stage: None)
    clock = [time.perf_counter()]

    def done(name: str) -> None:
        now = time.perf_counter()
        stages.append(Stage(name, now - clock[0]))
        clock[0] = now

    if key is None:
        key = read_key(config.config_path.parent)  # none there: one for this run alone (`keys.random_key`)
    rules = load_rules()  # a bad rule file stops the run before any work
    ref = config.reference_date

    def step(stage: str, what: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn` that first says which file (or check group) it is working on."""
        def run(item: Any) -> Any:
            say(f"{stage}：{what(item) if callable(what) else what}")
            return fn(item)
        return run

    # A stage's time is the sum of its files' times (files are read and linked side by side).
    seconds = {name: 0.0 for name in STAGES[:3]}
    count_lock = threading.Lock()

    def timed(stage: str, file: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)`, its time counted to `stage`, its unexpected errors blamed on `file`."""
        started = time.perf_counter()
        try:
            with internal_errors(stage, file):
                return fn(*args, **kwargs)
        finally:
            with count_lock:
                seconds[stage] += time.perf_counter() - started

    def read_and_prepare(spec: InputSpec) -> tuple[LoadedFile, pl.DataFrame]:
        say(f"{STAGES[0]}：{spec.source_file}")
        loaded_file = timed(STAGES[0], spec.source_file, _read, spec, read_ahead)
        release_unused()  # the reader's buffers (calamine, GBK decoding) go back, not kept for reuse
        # imported only now, most likely by the calling thread meanwhile (`_imported_meanwhile`)
        from fanpin_cli.prepare import prepare

        return loaded_file, timed(STAGES[1], spec.source_file, prepare, loaded_file.frame, ref)

    def roster_side(spec: InputSpec) -> tuple[LoadedFile, pl.DataFrame, pl.DataFrame, Any, Any]:
        loaded_file, frame = read_and_prepare(spec)
        keys, known_keys = timed(STAGES[1], spec.source_file, _roster_keys, frame, key)
        from fanpin_cli.linking import roster_index

        # the roster's side of linking, made once for every extract
        index = timed(STAGES[2], spec.source_file, roster_index, frame)
        if small:  # the schemas the checks read, imported while the extracts are linked (`SCHEMAS`)
            pool.submit(_import_quietly, SCHEMAS)
        return loaded_file, frame, keys, known_keys, index

    def extract_side(spec: InputSpec, roster_done: tuple,
                     read: tuple[LoadedFile, pl.DataFrame]) -> tuple[LoadedFile, pl.DataFrame, pl.DataFrame]:
        from fanpin_cli.linking import link

        loaded_file, frame = read
        _, roster_frame, _, known_keys, index = roster_done
        say(f"{STAGES[2]}：{spec.source_file}")
        return keyed(spec, roster_done, read, timed(STAGES[2], spec.source_file, lambda: link(
            roster_frame, frame, sector=spec.sector, index=index)))

    def keyed(spec: InputSpec, roster_done: tuple, read: tuple[LoadedFile, pl.DataFrame],
              links_file: pl.DataFrame) -> tuple[LoadedFile, pl.DataFrame, pl.DataFrame]:
        """A file's links with its keys (`_keyed_links`) and shared reasons."""
        loaded_file, frame = read
        links_file = timed(STAGES[2], spec.source_file, _keyed_links, links_file, frame, spec.sector, key,
                           roster_done[3])
        # a few Chinese reasons on every row: each stored once (~100 MB less per million rows)
        with internal_errors(STAGES[2], spec.source_file):
            return loaded_file, frame, links_file.with_columns(shared_text(links_file["reason"]))

    def extracts_side(specs: list[InputSpec], roster_done: tuple,
                      *reads: tuple[LoadedFile, pl.DataFrame]) -> list[tuple[LoadedFile, pl.DataFrame, pl.DataFrame]]:
        """`extract_side` of each of `specs`, the files linked together (`linking.link_files`).
        Should that fail, each is linked alone: the error is then the first failing file's own."""
        from fanpin_cli.linking import link_files

        _, roster_frame, _, _, index = roster_done
        for spec in specs:
            say(f"{STAGES[2]}：{spec.source_file}")
        started = time.perf_counter()
        try:
            links = link_files(roster_frame, [(frame, spec.sector) for spec, (_, frame) in zip(specs, reads, strict=True)],
                               index=index)
        except INTERRUPTIONS:
            raise
        except BaseException:  # noqa: BLE001 - a panic in Rust code too: each file again on its own, which
            # names the one that fails (or links them all: then only the speed was lost)
            return [extract_side(spec, roster_done, read) for spec, read in zip(specs, reads, strict=True)]
        finally:
            with count_lock:
                seconds[STAGES[2]] += time.perf_counter() - started
        return [keyed(spec, roster_done, read, lk) for spec, read, lk in zip(specs, reads, links, strict=True)]

    say(STAGES[0])
    # The roster first, then every extract read and prepared, the biggest first; an extract is
    # linked as soon as it and the roster are ready, before the next file is read (no worker
    # waits for the roster while a file is left to read).
    # Two big files are not linked side by side (each linking holds ~0.5 KB a row beside the
    # frames): a file of LINK_APART_BYTES or more is linked after the next bigger such file,
    # while the other worker reads and links the smaller ones. Order only (`after`): when the
    # bigger file fails, the smaller is still linked and fails, or not, on its own.
    extracts = config.inputs[1:]
    sizes = [file_size(spec.path) for spec in extracts]
    big = sorted((i for i, size in enumerate(sizes) if size >= LINK_APART_BYTES), key=lambda i: -sizes[i])
    after = {i: (f"link{j}",) for j, i in zip(big, big[1:], strict=False)}
    # The small extracts (LINK_TOGETHER_BYTES; none linked apart) are linked together once they
    # are all read.
    together = _together(sizes)
    tasks = [Task("roster", partial(roster_side, config.inputs[0]), rank=(1, 0))]
    for i, spec in enumerate(extracts):
        tasks.append(Task(f"read{i}", partial(read_and_prepare, spec), rank=(1, 1, -sizes[i])))
        if i not in together:
            tasks.append(Task(f"link{i}", partial(extract_side, spec), needs=("roster", f"read{i}"),
                              after=after.get(i, ()), rank=(0, -sizes[i])))
    if together:
        tasks.append(Task("links", partial(extracts_side, [extracts[i] for i in together]),
                          needs=("roster", *(f"read{i}" for i in together)), rank=(0, -sum(sizes[i] for i in together))))
    # this thread imports what the later stages need while the files are read (`_imported_meanwhile`)
    done_tasks = run_tasks(pool, tasks, limit=WORKERS, meanwhile=_imported_meanwhile())
    from fanpin_cli.domain import INSURANCE_RULE
    from fanpin_cli.flagging import bundled_flags, evaluate, household_summary
    from fanpin_cli.prepare import LINKING_ONLY
    from fanpin_cli.quality import (
        attach_places,
        check_cross,
        check_file,
        quality_summary,
        scorecard,
        stocktake,
    )
    from fanpin_cli.quality.scorecard import row_places, village_rows
    from fanpin_cli.report import RuleInfo

    # errors as the files are listed: the roster's own first; of the files linked together, each
    # one's reading, then (all read) their linking
    read_together = all(done_tasks[f"read{i}"].exception() is None for i in together)
    for name in ("roster", *(f"link{i}" for i in range(len(extracts)))):
        i = int(name[4:]) if name != "roster" else -1
        if i not in together:
            done_tasks[name].result()
            continue
        done_tasks[f"read{i}"].result()
        if read_together:
            done_tasks["links"].result()
    roster_loaded, roster, roster_keys, known = done_tasks["roster"].result()[:4]
    linked_together = dict(zip(together, done_tasks["links"].result() if together else [], strict=True))
    extracts_done = [linked_together[i] if i in together else done_tasks[f"link{i}"].result()
                     for i in range(len(extracts))]
    del linked_together
    del done_tasks, tasks  # with them the roster index (view, digit matrix, memo): not needed after linking
    release_unused()  # what linking made and dropped
    extracts_loaded = [lf for lf, _, _ in extracts_done]
    loaded = [roster_loaded, *extracts_loaded]
    # The single-file checks read the whole prepared frames (`frames`, dropped once they are
    # done); the later stages share the evidence, without what only linking reads.
    frames = [roster, *(frame for _, frame, _ in extracts_done)]
    prepared = [(lf, frame.drop(LINKING_ONLY, strict=False)) for lf, frame, _ in extracts_done]
    links_each = [lk for _, _, lk in extracts_done]
    del extracts_done
    statuses = rule_statuses(rules, [available(lf, frame) for lf, frame in zip(loaded, frames, strict=True)],
                             config.rules)
    rule_infos = [RuleInfo(r.rule_id, r.title, r.level, _reason(statuses, r.rule_id)) for r in rules]
    stages.extend(Stage(name, seconds[name]) for name in STAGES[:3])
    clock[0] = time.perf_counter()
    persons = roster_keys.with_columns(
        *[(roster[c] if c in roster.columns else pl.Series(c, [None] * roster.height, dtype=pl.String)).cast(pl.String)
          for c in ("household_id", "name", "id_number")]
    )
    if history is not None:
        from fanpin_cli.history import apply_link_verdicts

        links_each = [apply_link_verdicts(lk, persons, history) for lk in links_each]
    evidence = _evidence(prepared, links_each)
    links = LINKS.conform(pl.concat(links_each, how="diagonal_relaxed")) if links_each else LINKS.empty()
    if on_links is not None:
        on_links(links, persons)
    row_index = pl.concat(
        [links.select("source_file", "source_row", "record_key"),
         roster_keys.select(pl.lit(roster_loaded.source_file).alias("source_file"),
                            pl.col("roster_row").alias("source_row"), "record_key")],
        how="vertical_relaxed",
    )

    members = roster.select([c for c in ("household_id", "source_row", "township", "village") if c in roster.columns])

    rules_seconds: list[float] = []
    # MED_UNINSURED's flags, for the cross check that shares the rule's definition (None:
    # the run did not evaluate it as bundled, or failed; the check then evaluates it itself).
    insurance: Future = Future()
    # The rule evaluation and the largest file's checks make this stage's largest temporaries:
    # side by side they held ~1 GB more at once at 200,000 households. A file of APART_ROWS rows
    # or more is checked once the rules are evaluated (the other files' checks run meanwhile).
    heights = [frame.height for frame in frames]
    largest = max(range(1, len(heights)), key=heights.__getitem__, default=0)
    apart = largest if largest and heights[largest] >= APART_ROWS else None
    # With none set apart (nothing large held), what needs neither the issues nor the flags
    # is made beside the checks and the rules: the rows per village and the stock-take on the
    # workers behind the checks (a worker done with the rules takes them), the file summaries
    # and the review queue on this thread meanwhile; else (memory first) one piece at a time,
    # after the checks (the review queue after the rules).
    beside = apart is None
    # `on_rules` gets the rules' result with its review queue: where the queue is made on this
    # thread (beside), by whichever of the two is ready last (never a thread left waiting for
    # the other, which may fail).
    halves: dict[str, Any] = {}
    halves_lock = threading.Lock()

    def rules_ready(name: str, value: Any) -> None:
        with halves_lock:
            halves[name] = value
            both = len(halves) == 2
        if both:
            result = halves["rules"]
            result.review = halves["review"]
            hand_on(result)

    def hand_on(result: FlagResult) -> None:
        """`on_rules(result)`; what goes wrong in it is the caller's writing (e.g. its workbook
        started), not the rules it runs beside."""
        if on_rules is not None:
            with internal_errors(STAGES[5]):
                on_rules(result)

    @internal_errors(STAGES[4])
    def flag_stage(roster: pl.DataFrame, evidence: dict[str, pl.DataFrame]) -> FlagResult:
        from fanpin_cli.tables import FLAGS

        started = time.perf_counter()
        try:
            flags = evaluate(rules, roster, evidence, reference_date=ref, overrides=dict(config.rules),
                             statuses=statuses)
            insurance.set_result(bundled_flags(flags, rules, INSURANCE_RULE, overrides=dict(config.rules),
                                               statuses=statuses))
        finally:
            if not insurance.done():
                insurance.set_result(None)
        keyed = FLAGS.conform(_flag_keys(_with_person(flags, roster, evidence), roster_keys, row_index, key))
        exempted = resolved = None
        if history is not None:
            from fanpin_cli.flagging.kinds import KINDS
            from fanpin_cli.history import apply_flag_history, history_settings
            from fanpin_cli.tables import EXEMPTED, RESOLVED

            settings = history_settings(config)
            past = apply_flag_history(keyed, history, reference_date=ref, exempt_months=settings.exempt_months,
                                      verify_days=settings.verify_days, roster=persons, links=links,
                                      missing_rules={r.rule_id for r in rules if KINDS[r.kind].absence})
            keyed, exempted, resolved = (FLAGS.conform(past.flags), EXEMPTED.conform(past.exempted),
                                         RESOLVED.conform(past.resolved))
        rule_counts, area_counts = household_summary(keyed, roster)
        review = None if beside else _review_queue(links, evidence, roster, roster_keys, key)
        result = FlagResult(keyed, review, rule_counts, area_counts, rule_infos, members, exempted, resolved)
        rules_seconds.append(time.perf_counter() - started)
        if beside:
            rules_ready("rules", result)
        else:
            hand_on(result)
        return result

    flag_future = pool.submit(flag_stage, roster, evidence)  # arguments: nothing holds them once it is done
    clock[0] = time.perf_counter()

    say(STAGES[3])

    def checked(item: tuple[int, LoadedFile, pl.DataFrame]) -> pl.DataFrame:
        i, lf, frame = item
        if i == apart:
            wait([insurance])  # set once `evaluate` is done (or failed)
        with internal_errors(STAGES[3], lf.source_file):
            return check_file(frame, lf.sector, headings=lf.headings, reference_date=ref, overrides=dict(config.rules))

    items = sorted(((i, lf, frame) for i, (lf, frame) in enumerate(zip(loaded, frames, strict=True))),
                   key=lambda item: item[0] == apart)  # the one set apart last: it may wait
    checking = pool.map(step(STAGES[3], lambda item: item[1].source_file, checked), items)
    distinct = len({lf.source_file for lf in loaded}) == len(loaded)
    villages_ahead = pool.submit(village_rows, roster, evidence) if beside and distinct else None  # read first
    stock_ahead = pool.submit(stocktake, roster, evidence, lists=tuple(STOCKTAKE_KINDS)) if beside else None
    if beside:
        inputs, link_totals = _input_summaries(rules, roster_loaded, roster, prepared, links_each)
        with internal_errors(STAGES[4]):
            review = _review_queue(links, evidence, roster, roster_keys, key)
            rules_ready("review", review)
    checked_frames = dict(zip([i for i, _, _ in items], checking, strict=True))
    issue_frames = [checked_frames[i] for i in range(len(loaded))]
    del checked_frames, items, frames  # the extracts' linking-only columns go with them
    issue_frames += [lf.issues for lf in loaded if lf.issues is not None and lf.issues.height]  # found reading
    headings = {"roster": roster_loaded.headings} | {lf.sector: lf.headings for lf in extracts_loaded}
    with internal_errors(STAGES[3]):  # the checks across files: no one file to blame
        say(f"{STAGES[3]}：跨部门比对检查")
        issue_frames.append(check_cross(roster, evidence, reference_date=ref, headings=headings,
                                        insurance_flags=insurance.result()))
        issues = pl.concat(issue_frames, how="diagonal_relaxed")
        # The places of the rows with an issue only (issues and scorecards); the rows per village
        # counted frame by frame (every row's place: 6.4M rows, ~1 GB at 200,000 households), unless
        # two input files share a name (a row is then counted once, as `row_places` keeps it).
        places = row_places(roster, evidence, rows=issues if distinct else None)
        if villages_ahead is not None:
            per_village = villages_ahead.result()
        else:
            per_village = village_rows(roster, evidence) if distinct else None
        issues = attach_places(issues, _rows_of([places], issues, "household_id", "township", "village"))
        file_sectors = {lf.source_file: lf.sector for lf in loaded}
        issues = ISSUES.conform(_issue_keys(issues, row_index, file_sectors, key))
        say(f"{STAGES[3]}：账账相符与质量评分")
        stock_counts, stock_lists = (stock_ahead.result() if stock_ahead is not None
                                     else stocktake(roster, evidence, lists=tuple(STOCKTAKE_KINDS)))
        cards = SCORECARD.conform(scorecard(issues, places, per_village))
        del places, issue_frames, stock_ahead, villages_ahead  # every row's place: not needed after the scorecards
        release_unused()
    done(STAGES[3])
    quality_detail = _with_names(_village_issues(issues, roster_loaded.source_file), roster, evidence)
    # What needs no flags, while the rules may still run.
    quality = _quality_with_statuses(quality_summary(issues), [available(lf) for lf in loaded],
                                     overrides=dict(config.rules))
    stock_counts = STOCKTAKE_COUNTS.conform(stock_counts)
    stock_list, stock_dicts, card_dicts = _stocktake_list(stock_lists), stock_counts.to_dicts(), cards.to_dicts()
    say(STAGES[4])
    flagged = flag_future.result()
    flagged.quality_detail = quality_detail
    if beside:
        flagged.review = review
    # What the summary reads of the input frames is taken now and the frames are let go before
    # the workbook's process starts beside this one (200,000 households: ~2 GB of prepared rows
    # and link columns were still held through the writing).
    if not beside:
        inputs, link_totals = _input_summaries(rules, roster_loaded, roster, prepared, links_each)
    del evidence, prepared, roster, links_each, loaded, extracts_loaded, roster_loaded
    release_unused()
    # Handed on only now: a workbook process started while the quality checks peak (scorecards,
    # stock-take) would hold its own memory at that moment too (50,000 households: tree peak
    # 2.18 → 1.82 GB), and on two cores it only competed with them for the CPU.
    if on_flags is not None:
        on_flags(flagged)
    done(STAGES[4])
    # The rules ran beside the quality checks: the log gives their own time, not the wait.
    if rules_seconds:
        stages[-1] = Stage(STAGES[4], rules_seconds[0])

    summary = RunSummary(
        version=__version__,
        county=config.county,
        period=config.period,
        reference_date=ref.isoformat(),
        config=str(config.config_path.name),
        inputs=inputs,
        links=link_totals,
        rules=_rule_entries(rules, flagged.rule_counts, statuses),
        households_flagged=_level_totals(flagged.area_counts),
        quality=quality,
        stocktake=stock_dicts,
        scorecard=card_dicts,
        stages=stages,
    )
    link_counts = LINK_COUNTS.conform(pl.DataFrame(
        [{k: getattr(e, k) for k in LINK_COUNTS.names} for e in inputs[1:]],
        schema=LINK_COUNTS.schema,
    ))
    artifacts = RunArtifacts(
        links=links,
        flags=flagged.flags,
        issues=issues,
        review=flagged.review,
        stocktake=stock_list,
        scorecard=cards,
        summary=summary,
        stocktake_counts=stock_counts,
        link_counts=link_counts,
        rule_counts=flagged.rule_counts,
        area_counts=flagged.area_counts,
        quality_detail=quality_detail,
        members=members,
        rules=rule_infos,
        resolved=flagged.resolved,
        exempted=flagged.exempted,
        persons=persons,
    )
    if history is not None:
        from fanpin_cli.history.runner import history_counts

        summary.history = {"previous_period": history.previous_period, **history_counts(artifacts)}
    return artifacts


def run_job(
    config: RunConfig,
    out_dir: Path,
    *,
    full_ids: bool = False,
    progress: Progress | None = None,
    split: str = "township",
    history: bool = True,
    history_path: Path | None = None,
    workbook_process: Any = None,
) -> RunResult:
    """Run the whole monthly job and write every output into `out_dir` (`split`: also one
    workbook per 乡镇 "township" or 村 "village", or "none"): `compute` on two
    threads (polars and fastexcel release the GIL) with report.xlsx started in a child
    process once the flags and quality checks exist, then `write_outputs`. With `history` (the default)
    the run reads the history file (`[history] path`, or `history_path`) first and records
    itself into it: its rows written beside the outputs, counted once the outputs are in place
    (`history.store.PendingRun`). `workbook_process`: the
    report.xlsx process the caller started earlier (`outputs.prestart_workbook()`, beside its
    own start); else it is started here. The run ends it if it fails; a caller whose run fails
    before this is called ends it with `abort()`."""
    from fanpin_cli.keys import load_or_create_key
    from fanpin_cli.outdir import output_folder
    from fanpin_cli.outputs import prestart_workbook, start_workbook, write_outputs

    # the run's threads hand the interpreter lock on quickly (`tasks.quick_handoffs`)
    with output_folder(out_dir), quick_handoffs():  # folder checked, locked, leftovers removed
        return _run_locked(config, out_dir, full_ids=full_ids, progress=progress, split=split, history=history,
                           history_path=history_path, load_or_create_key=load_or_create_key,
                           start_workbook=start_workbook, write_outputs=write_outputs,
                           prestart_workbook=prestart_workbook, workbook_process=workbook_process)


def _run_locked(config: RunConfig, out_dir: Path, *, full_ids: bool, progress: Progress | None, split: str,
                history: bool, history_path: Path | None, load_or_create_key: Any, start_workbook: Any,
                write_outputs: Any, prestart_workbook: Any = None, workbook_process: Any = None) -> RunResult:
    from fanpin_cli.history.runner import swapped_in

    started = time.perf_counter()
    past = None
    if history:
        from fanpin_cli.history.runner import open_for_run

        past = open_for_run(config, path=history_path, out_dir=out_dir)
    key = load_or_create_key(config.config_path.parent, kept=history)
    report: list[Any] = []

    # Every output is written into a staging folder beside out_dir and swapped in as a whole, the
    # month's history record around the swap (`swapped_in`).
    with swapped_in(out_dir, past, config) as placing:
        # the workbook's process (started by the caller, else now, beside the reading) gets its data later
        ahead = workbook_process
        if ahead is None and prestart_workbook is not None:
            ahead = prestart_workbook(placing.stage)
        written = None
        try:
            written, placing.artifacts, placing.pending = _compute_and_write(
                config, placing.stage, out_dir, report, ahead, past, key=key, full_ids=full_ids, progress=progress,
                split=split, started=started, start_workbook=start_workbook, write_outputs=write_outputs)
        finally:
            if written is None:  # the run failed anywhere: a report process waiting for data is ended
                for r in report or ([ahead] if ahead is not None else []):
                    r.abort()
    artifacts = placing.artifacts
    outputs = [out_dir / p.relative_to(placing.stage) for p in written]
    return RunResult(out_dir, artifacts.summary, artifacts, artifacts.summary.stages, outputs)


def _compute_and_write(config: RunConfig, stage: Path, out_dir: Path, report: list[Any], ahead: Any, past: Any, *,
                       key: bytes, full_ids: bool, progress: Progress | None, split: str, started: float,
                       start_workbook: Any, write_outputs: Any) -> tuple[list[Path], RunArtifacts, Any]:
    """`compute`, then the outputs written into `stage` with the history staged beside them:
    the written files, the artifacts and the history's staged run (`PendingRun`; None without one).
    A small county's queries run on polars' in-memory engine (`in_memory_queries`) from before
    the run's first thread starts until its last has ended: polars keeps the setting in the
    process's environment, which must not change while other threads may read it from native
    code (polars, DuckDB: C `getenv`; a change meanwhile can crash them)."""
    from fanpin_cli.outputs import early_workbook

    # Only a small county's workbook starts before the checks are done (`_small`: a county with a
    # big file checks it after the rules, at its memory peak, whatever its flags number).
    small = _small(config)
    with in_memory_queries(small):
        beside = ThreadPoolExecutor(max_workers=1)  # the history's thread (`write_beside_history`)

        def on_rules(result: FlagResult) -> None:  # in the rules' thread, beside the last quality checks
            if small and early_workbook(result):
                report.append(start_workbook(config, result, stage, full_ids=full_ids, split=split, started=ahead))

        read_ahead = _reads_ahead(config, ahead)
        # A small county's links go into the history while its rules are evaluated (`stage_links`):
        # its history's month is mostly its links, and beside the outputs both cores are busy.
        links_staged: list[Future] = []
        early_links = past is not None and small
        if early_links:  # DuckDB imported there while the files are read, before the links come
            from fanpin_cli.history.store import import_duckdb

            beside.submit(import_duckdb)

        # A small county's links.csv is written then too, after them on that thread (`write_table_csv`):
        # the links are final before the rules run, and beside the outputs both cores are busy.
        early_csv: dict[str, Future] = {}

        def on_links(links: pl.DataFrame, persons: pl.DataFrame) -> None:  # a small county's
            if early_links:
                links_staged.append(beside.submit(past.stage_links, config, links, persons))
            early_csv["links"] = beside.submit(write_table_csv, "links", links, stage, full_ids=full_ids)

        def on_flags(result: FlagResult) -> None:
            if not report:  # not started by `on_rules`
                report.append(start_workbook(config, result, stage, full_ids=full_ids, split=split, started=ahead))

        with beside:
            try:
                with ThreadPoolExecutor(max_workers=SMALL_WORKERS if small else WORKERS) as pool:
                    artifacts = compute(config, executor=pool, key=key, progress=progress, on_flags=on_flags,
                                        history=past.view if past else None, on_rules=on_rules,
                                        read_ahead=read_ahead, on_links=on_links if small else None)
                if progress:
                    progress(STAGES[5])
            except BaseException:  # the links staged for a run that failed are dropped
                _drop_staged(links_staged)
                raise
            written, pending = write_beside_history(
                lambda: write_outputs(artifacts, stage, full_ids=full_ids, report=report[0] if report else None,
                                      started=started, split=split, written=early_csv),
                past, config, artifacts, out_dir, beside=beside, links=links_staged[0] if links_staged else None)
        return written, artifacts, pending


def _drop_staged(staged: list[Future]) -> None:
    """Roll back the history rows staged for a run that failed (its links: `stage_links`)."""
    for future in staged:
        if future.exception() is None:
            with contextlib.suppress(Exception):  # the run's own error is the one said
                future.result().rollback()


def _together(sizes: list[int]) -> list[int]:
    """The extracts (their positions; `sizes` in bytes) linked together: those under
    LINK_TOGETHER_BYTES (and LINK_APART_BYTES), when there are two or more.

    >>> _together([10, 5 * 2**20, 20]), _together([10, 5 * 2**20])
    ([0, 2], [])
    """
    return linked_together(sizes, LINK_TOGETHER_BYTES, LINK_APART_BYTES)


def _reads_ahead(config: RunConfig, process: Any) -> ReadAhead | None:
    """The report process started ahead (`process`), while it waits for the workbook's data,
    reads a small county's roster and its small extracts (`BackgroundReport.read_ahead`; a big
    county's: nothing) beside this process's reading of the bigger ones: the roster heads the
    run's longest chain (roster → prepared → every extract linked), the small extracts are linked
    together once all are read (LINK_TOGETHER_BYTES), and this process's interpreter lock is spared
    their reading. The process reads them in the order the run needs them (the roster, then the
    biggest first, as the run's workers read: `readahead.ahead_specs`). The `fanpin run`
    command's first step has ordered them already (`launch`): that order is taken if it is for
    these very files; one for others (the config changed meanwhile) is dropped and every file is
    read here (a process answers one order). Returns what `compute` asks for each file: the
    file as read there, else None (read here).

    >>> _reads_ahead(None, None) is None  # no process: everything is read here
    True
    """
    if process is None or not hasattr(process, "read_ahead") or not process.alive():
        return None
    specs = ahead_specs(config.roster, config.extracts, together=LINK_TOGETHER_BYTES, apart=LINK_APART_BYTES)
    ordered = getattr(process, "ordered", None)  # (specs, take): the order the process was given
    if ordered is None:
        take = process.read_ahead(specs)
    elif ordered[0] == specs:
        take = ordered[1]
    else:
        process.forget_reads()
        return None
    if not specs:
        return None
    index = {id(spec): i for i, spec in enumerate(specs)}

    def read(asked: InputSpec) -> LoadedFile | None:
        i = index.get(id(asked))
        return None if i is None else take(i)

    return read


def write_beside_history(write: Callable[[], list[Path]], past: Any, config: RunConfig, artifacts: RunArtifacts,
                         out_dir: Path, *, beside: Executor | None = None,
                         links: Future | None = None) -> tuple[list[Path], Any]:
    """`write()` (a run's outputs, into its staging folder) with the month's history rows staged
    beside it on a second thread (`past.stage`: reduced, written into the history file, not yet
    counted): the written files and the staged run (`PendingRun`; None without a history, or
    when staging failed: `history.runner.swapped_in` stages it again before the swap, or stops
    the run with the output folder as it was). A failed
    writing rolls the staged rows back and is said as `fanpin run` says it: an OSError (the
    workbook process's too) as an OutputError naming `out_dir`, anything else unexpected (a
    failed workbook process: `report.background.failure_of`) as an InternalError of 写出结果. `fanpin run` and the province's county jobs. `beside`: the caller's
    one-thread executor to stage them on (else one of its own). `links`: the run's links staged
    before (`HistoryRun.stage_links`, on `beside`): the rest is added to them; if staging them
    failed, the month's staging fails with that error (staged again before the swap, as above)."""
    from fanpin_cli.outdir import OutputError, describe_os_error

    written = None
    with ThreadPoolExecutor(max_workers=1) if beside is None else nullcontext(beside) as thread:
        record = thread.submit(_stage, past, config, artifacts, out_dir, links) if past is not None else None
        try:
            written = write()
        except OSError as exc:  # (the workbook process's too: `report.background.failure_of`)
            raise OutputError(f"写出结果失败：{describe_os_error(exc)}", file=str(out_dir)) from None
        except (FanpinError, *INTERRUPTIONS):
            raise
        except BaseException as exc:  # a library's error, a panic in Rust code or a bug while writing
            raise InternalError.of(exc, stage=STAGES[5]) from exc
        finally:  # waits for the history beside, so that a failed writing rolls it back
            pending = record.result() if record is not None and record.exception() is None else None
            if written is None and pending is not None:
                pending.rollback()
    return written, pending


def _stage(past: Any, config: RunConfig, artifacts: RunArtifacts, out_dir: Path, links: Future | None) -> Any:
    """`past.stage(...)`, added to the run's links staged before (`links`, done on this same
    thread); a failure drops them too. Staging the links failed (e.g. the history busy): that is
    the staging's error, not tried a second time here (`swapped_in` tries once more before the swap)."""
    if links is None:
        return past.stage(config, artifacts, out_dir)
    failed = links.exception()
    if failed is not None:
        raise failed
    early = links.result()
    try:
        return past.stage(config, artifacts, out_dir, links=early)
    except BaseException:
        early.rollback()
        raise


# What `compute`'s calling thread imports while the workers read the files, in the order the
# workers need it: normalising (numpy: ~0.1 s; then the tables the first `prepare` would load),
# linking, the rules and the checks, the workbook's data model. A worker that needs a module
# this thread is importing waits for it (Python's lock per module); none is needed before the
# run has started reading. "module:function": the module imported, then its function called.
LATER_MODULES = ("numpy", "fanpin_cli.prepare", "fanpin_cli.prepare:warm_up", "fanpin_cli.linking",
                 "fanpin_cli.flagging.engine", "fanpin_cli.flagging.households", "fanpin_cli.quality",
                 "fanpin_cli.report.model")
# A small county's pandera schemas, which `quality.check_file` reads (pandera, pydantic: ~0.1 s of
# CPU, ~21 MB), are imported once its roster is indexed, on a worker of its own, beside the
# linking (`compute`): beside the reading of the files they held back the roster's reading and
# preparing at the head of the run's longest chain. A big county imports them at its first
# check (+21 MB held while its big files are linked otherwise).
SCHEMAS = "fanpin_cli.schemas"


def _imported_meanwhile() -> list[Callable[[], None]]:
    """What `compute`'s calling thread does while the workers read (`tasks.run_tasks`'
    `meanwhile`, one step at a time): `LATER_MODULES`.

    >>> [step.args for step in _imported_meanwhile()][-1]
    ('fanpin_cli.report.model',)
    """
    return [partial(_import_quietly, name) for name in LATER_MODULES]


def _import_quietly(name: str) -> None:
    """Import module `name` ("module:function": and call its `function`, which loads what the
    module loads at its first use); a failure is left for the stage that needs the module to
    raise, and report, in its own stage.

    >>> _import_quietly("fanpin_cli.no_such_module")  # said by the stage that needs it
    """
    module, _, function = name.partition(":")
    try:
        loaded = import_module(module)
        if function:
            getattr(loaded, function)()
    except Exception:  # noqa: BLE001 - raised again, and reported, by the stage that needs it
        pass


def _link_totals(links: list[pl.DataFrame]) -> list[dict[str, Any]]:
    """Rows per sector, match status and method, counted file by file (grouping the texts of
    every links row at once held +345 MB at 50,000 households; their codes still +470 MB at
    200,000) and summed.

    >>> f = pl.DataFrame({"sector": ["police"] * 3, "match_status": ["linked", "linked", "unlinked"],
    ...                   "match_method": ["id_exact", "id_exact", "none"]})
    >>> _link_totals([f, f.head(1)])[0]
    {'sector': 'police', 'match_status': 'linked', 'match_method': 'id_exact', 'rows': 3}
    """
    keys = ("sector", "match_status", "match_method")
    # lazily, together: the same counts for a third of the CPU of eager group_bys (50,000 households: 0.19 → 0.06 s)
    parts = [lk.lazy().group_by(keys).len("rows") for lk in links if lk.height]
    if not parts:
        return []
    return (
        pl.concat(pl.collect_all(parts))
        .group_by(keys)
        .agg(pl.col("rows").sum())
        .sort(keys)
        .to_dicts()
    )


def _reason(statuses: dict[str, Any] | None, rule_id: str) -> str | None:
    """Why a rule was not evaluated (None when it was)."""
    status = (statuses or {}).get(rule_id)
    return None if status is None or status.evaluated else status.reason


def _quality_with_statuses(
    quality: dict[str, Any], inputs: list[Any], *, single: bool = False, overrides: dict | None = None,
) -> dict[str, Any]:
    """The quality summary with `status`/`reason` on every check of the catalogue (`inputs`:
    each input file as `coverage.Available`)."""
    from fanpin_cli.quality.status import check_statuses, with_statuses

    statuses = check_statuses(inputs, overrides)
    if single:  # `fanpin validate`: only the checks that read this one file
        from fanpin_cli.quality import CHECK_INDEX
        from fanpin_cli.quality.status import applies_to

        sector = inputs[0].sector
        statuses = {
            cid: s for cid, s in statuses.items()
            if CHECK_INDEX[cid].scope != "cross" and applies_to(cid, CHECK_INDEX[cid].scope, sector)
        }
    quality["by_check"] = with_statuses(quality.get("by_check") or {}, statuses)
    return quality


def _rule_entries(rules: list[Any], rule_counts: pl.DataFrame, statuses: dict[str, Any]) -> list[RuleSummary]:
    counts = {r["rule_id"]: r for r in rule_counts.to_dicts()} if rule_counts.height else {}
    out = []
    for rule in rules:
        c = counts.get(rule.rule_id, {})
        out.append(RuleSummary(rule.rule_id, rule.title, rule.level,
                               int(c.get("households", 0) or 0), int(c.get("persons", 0) or 0),
                               int(c.get("pending_households", 0) or 0), int(c.get("pending_persons", 0) or 0),
                               statuses.get(rule.rule_id)))
    return out


def _level_totals(area_counts: pl.DataFrame) -> dict[str, int]:
    totals = {}
    for level in ("red", "yellow", "blue"):
        col = f"households_{level}"
        totals[level] = int(area_counts[col].sum()) if col in area_counts.columns else 0
    # Households whose only flags are pending_review (not in the level totals).
    pend = "pending_households"
    totals["pending_review"] = int(area_counts[pend].sum()) if pend in area_counts.columns else 0
    return totals


# Checks comparing the roster with a sector's data: the village acts on these even when the row
# that shows them is in the sector's file.
CROSS_CHECKS = ("NAME_ID_CONFLICT", "INSURED_CONFLICT", "DECEASED_LISTED", "SEX_ID_CONFLICT", "BIRTH_ID_CONFLICT")


def _with_names(issues: pl.DataFrame, roster: pl.DataFrame, evidence: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Each issue with the 姓名 of its row (the roster's or the extract's own), so that the
    village knows whom a 数据质量 line is about."""
    names = [f for f in (roster, *evidence.values()) if "name" in f.columns]
    if not names or issues.height == 0:
        return issues
    from fanpin_cli.quality.scorecard import first_per_row

    lookup = first_per_row(_rows_of(names, issues.filter(pl.col("source_row").is_not_null()),
                                    pl.col("name").cast(pl.String)))
    return issues.drop("name", strict=False).join(lookup, on=["source_file", "source_row"], how="left",
                                                 maintain_order="left")


def _village_issues(issues: pl.DataFrame, roster_file: str) -> pl.DataFrame:
    """The issues a village can act on (the workbook's 数据质量 sheet): those in the roster and
    the roster-vs-sector conflicts of roster persons. Format faults inside a sector's own file
    are the department's to fix; every issue stays in quality_issues.csv."""
    if issues.height == 0:
        return issues
    return issues.filter(
        (pl.col("source_file") == roster_file)
        | (pl.col("check_id").is_in(CROSS_CHECKS) & pl.col("household_id").is_not_null())
    )


STOCKTAKE_KINDS = {"roster_only": "账有实无", "mismatch": "信息不一致"}


def _stocktake_list(lists: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """账账相符 lists (tables.STOCKTAKE): roster persons with no row in a sector (账有实无) and
    attribute mismatches between linked rows (信息不一致). Sector-only rows (实有账无) are the
    unlinked rows of links.csv and matched rows its linked ones, so they are not repeated here."""
    parts = [
        lists[k].with_columns(pl.lit(kind).alias("kind"))
        for k, kind in STOCKTAKE_KINDS.items()
        if k in lists and lists[k].height
    ]
    if not parts:
        return STOCKTAKE.empty()
    return STOCKTAKE.conform(pl.concat(parts, how="diagonal_relaxed"))


def validate_file(
    path: Path,
    sector: str,
    out_dir: Path | None,
    *,
    reference_date: date | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Load and check one file; write quality_issues.csv and summary.json when `out_dir` is set."""
    started = time.perf_counter()
    ref = reference_date or date.today()
    with internal_errors(STAGES[0], path.name):
        loaded = load_file(path, sector, sheet=sheet, header_row=header_row, encoding=encoding)
    from fanpin_cli.prepare import prepare
    from fanpin_cli.quality import check_file, quality_summary

    with internal_errors(STAGES[1], loaded.source_file):
        frame = prepare(loaded.frame, ref)
    with internal_errors(STAGES[3], loaded.source_file):
        issues = check_file(frame, sector, headings=loaded.headings, reference_date=ref)
    if loaded.issues is not None and loaded.issues.height:  # found while reading the file
        issues = pl.concat([loaded.issues, issues], how="diagonal_relaxed").sort("source_row", maintain_order=True)
    key = read_key(path.parent)  # no county key there: one for this check alone (the file's name is shown)
    row_index = pl.DataFrame({"source_file": frame["source_file"].cast(pl.String),
                              "source_row": frame["source_row"].cast(pl.Int64),
                              "record_key": row_keys(frame, sector, key)})
    issues = ISSUES.conform(_issue_keys(issues, row_index, {loaded.source_file: sector}, key))
    from fanpin_cli.flagging import load_rules

    summary = {
        "version": __version__,
        "reference_date": ref.isoformat(),
        "inputs": [_input_summary(loaded, None, frame).to_dict() | input_coverage(loaded, load_rules())],
        "quality": _quality_with_statuses(quality_summary(issues), [available(loaded)], single=True),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(mask_frame(ISSUES.for_csv(issues)), out_dir / "quality_issues.csv")
        write_json(mask_data(summary), out_dir / "summary.json")
    return summary, issues
