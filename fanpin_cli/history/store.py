"""Open the history file (DuckDB) and write one run into it: its rows beside the outputs, and
the `runs` row that makes them count once the outputs are in place (`PendingRun`).

DuckDB lets one process at a time open a file for writing: a second run waits up to
`wait_seconds` for the first one's short write, then stops with `HistoryBusyError`.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "h.duckdb"
>>> with connect(path) as con:
...     con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
0
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from fanpin_cli.errors import FanpinError

from .schema import DDL, RUN_TABLES, SCHEMA_VERSION


class HistoryError(FanpinError):
    """The history file cannot be opened or written."""


class HistoryBusyError(HistoryError):
    """Another fanpin process holds the history file."""


@contextmanager
def connect(path: Path, *, read_only: bool = False, wait_seconds: float = 20.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the history at `path` (created with its tables on first write use)."""
    con = _open(path, read_only=read_only, wait_seconds=wait_seconds)
    try:
        yield con
    finally:
        con.close()


def _open(path: Path, *, read_only: bool = False, wait_seconds: float = 20.0) -> duckdb.DuckDBPyConnection:
    """`connect` without the context: the caller closes the connection."""
    if read_only and not path.exists():
        raise HistoryError("历史记录文件不存在（尚未运行过带历史记录的月度比对）", file=str(path))
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise HistoryError(f"无法打开历史记录文件：{exc}", file=str(path)) from exc
            if time.monotonic() >= deadline:
                raise HistoryBusyError(
                    f"历史记录文件正被另一个 fanpin 进程使用，已等待 {wait_seconds:.0f} 秒；请等它结束后再运行",
                    file=str(path),
                ) from exc
            time.sleep(0.25)
        except duckdb.Error as exc:
            raise HistoryError(f"不是有效的历史记录文件：{exc}", file=str(path)) from exc
    try:
        if not read_only:
            con.execute(DDL)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    except BaseException:
        con.close()
        raise
    return con


@dataclass
class RunRecord:
    """One run as the history keeps it: metadata and the tables it produced (already reduced to
    history columns: keys, masked IDs and names only; see `tables.py` in this package)."""

    county: str
    period: str
    reference_date: date
    version: str
    config_file: str = ""
    out_dir: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    inputs: pl.DataFrame | None = None
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def record_run(path: Path, run: RunRecord, *, wait_seconds: float = 20.0) -> int:
    """Write `run` into the history (`PendingRun`, committed at once); a run of the same county
    and period replaces the earlier one. Returns the new run_id. On any failure readers see the
    history as it was (rows already written are dropped, else removed by the next recorded run)."""
    return PendingRun(path, run, wait_seconds=wait_seconds).commit()


class PendingRun:
    """`run` written into the history before it counts: the rows go in while the run's
    outputs are still being written, and count only once `commit` is called after the outputs
    are in place (`rollback` otherwise: nothing changes). The history file stays locked for
    other processes until then.

    Two transactions: the first (here, beside the outputs) writes the run's rows under a new
    run_id that no `runs` row names yet — every reader finds a run's rows through `runs`, so
    they are seen by no one — and DuckDB puts them into the file (compressing them) at once;
    the second (`commit`) only replaces the county's earlier run of the same period and adds
    the `runs` row, so that little is left for the end of the run. A run killed between the two
    leaves rows that no run names; `staged_runs` lists them and the next recorded run removes
    them.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "h.duckdb"
    >>> pending = PendingRun(path, RunRecord("永顺县", "2026-11", date(2026, 11, 30), "0"))
    >>> pending.rollback()
    >>> with connect(path) as con:
    ...     con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    0
    """

    def __init__(self, path: Path, run: RunRecord, *, wait_seconds: float = 20.0) -> None:
        self._key = (str(path.resolve()), -1)
        # what `commit` writes (the `runs` row): the run without its tables, which are in the
        # file by then (kept, they would stay alive while the outputs are written)
        self._run = replace(run, tables={}, inputs=None)
        self._con: duckdb.DuckDBPyConnection | None = _open(path, wait_seconds=wait_seconds)
        try:
            self._con.execute("BEGIN TRANSACTION")
            self.run_id = _write_rows(self._con, run)
            self._key = (self._key[0], self.run_id)
            _LIVE.add(self._key)
            self._con.execute("COMMIT")
        except BaseException:
            con, self._con = self._con, None
            _LIVE.discard(self._key)
            try:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
            finally:
                con.close()
            raise

    def commit(self) -> int:
        """Make the run count; returns its run_id."""
        con, self._con = self._con, None
        if con is None:
            raise HistoryError("历史记录的写入已撤销，不能再提交")
        try:
            con.execute("BEGIN TRANSACTION")
            _publish(con, self._run, self.run_id, self._key[0])
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            with contextlib.suppress(duckdb.Error):  # else the next recorded run removes them
                _drop_rows(con, self.run_id)
            raise
        finally:
            _LIVE.discard(self._key)
            con.close()
        return self.run_id

    def rollback(self) -> None:
        """Drop what was written (nothing changes); safe to call twice."""
        con, self._con = self._con, None
        if con is None:
            return
        try:
            with contextlib.suppress(duckdb.Error):  # else the next recorded run removes them
                _drop_rows(con, self.run_id)
        finally:
            _LIVE.discard(self._key)
            con.close()


# (history file, run_id) of the runs this process has written but not yet committed or dropped:
# the rows of another process's killed run are removed by the next commit, never these.
_LIVE: set[tuple[str, int]] = set()


def _write_rows(con: duckdb.DuckDBPyConnection, run: RunRecord) -> int:
    """Insert the rows of `run`'s tables under a new run_id (inside the caller's transaction)
    and list it in `staged_runs`; returns the run_id. No `runs` row names it yet."""
    run_id = con.execute("SELECT nextval('run_ids')").fetchall()[0][0]
    frames = dict(run.tables)
    if run.inputs is not None:
        frames["run_inputs"] = run.inputs
    for table, frame in frames.items():
        insert_frame(con, table, frame.with_columns(pl.lit(run_id, pl.Int32).alias("run_id")))
    con.execute("INSERT INTO staged_runs VALUES (?)", [run_id])
    return int(run_id)


def _publish(con: duckdb.DuckDBPyConnection, run: RunRecord, run_id: int, path: str) -> None:
    """Inside the caller's transaction: delete the earlier run of the same county and period
    and the rows of runs killed before they were committed, and add `run`'s `runs` row."""
    old = [r[0] for r in con.execute(
        "SELECT run_id FROM runs WHERE county = ? AND period = ?", [run.county, run.period]
    ).fetchall()]
    left = [r[0] for r in con.execute("SELECT run_id FROM staged_runs").fetchall()
            if r[0] != run_id and (path, r[0]) not in _LIVE]
    for old_id in (*old, *left):
        for table in (*RUN_TABLES, "runs", "staged_runs"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [old_id])
    con.execute("DELETE FROM staged_runs WHERE run_id = ?", [run_id])
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, run.county, run.period, run.reference_date, run.version, datetime.now(),
         run.config_file, run.out_dir, json.dumps(run.params, ensure_ascii=False, default=str),
         json.dumps(run.counts, ensure_ascii=False, default=str)],
    )


def _drop_rows(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Delete the rows written for `run_id` (a run that will not be committed), in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (*RUN_TABLES, "staged_runs"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


INSERT_ROWS = 200_000  # rows of a frame inserted at once (`insert_frame`)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Insert the columns of `frame` that `table` has (by name); others stay null."""
    if frame.height == 0:
        return
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    present = [c for c in columns if c in frame.columns]
    names = ", ".join(present)
    # A slice at a time: DuckDB reads each through its own Arrow copy of the rows, so the
    # copies of a large table (the links, 1.4M rows at 50,000 households) never exist at once.
    for part in frame.select(present).iter_slices(INSERT_ROWS):
        staged = _ArrowStream(part)  # noqa: F841 - read by DuckDB's replacement scan
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM staged")


class _ArrowStream:
    """A polars frame seen by DuckDB through the Arrow C stream interface (no pyarrow needed)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    """Run `sql` and return a polars frame (through the Arrow C stream interface)."""
    return pl.DataFrame(con.sql(sql, params=params or None))
