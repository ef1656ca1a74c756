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
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from fanpin_cli.errors import FanpinError

from .schema import DDL, RUN_TABLES, SCHEMA_VERSION

if TYPE_CHECKING:
    import duckdb
else:
    class _DuckDB:
        """`duckdb`, imported when first used (0.07 s of CPU): a run without a history
        (`--no-history`), or whose history file does not exist yet, imports it beside the
        outputs or never; every module that reaches the history imports this one.

        >>> _DuckDB().Error.__module__.split(".")[0] in ("duckdb", "_duckdb")
        True
        """

        def __getattr__(self, name: str) -> Any:
            import duckdb as module

            globals()["duckdb"] = module
            return getattr(module, name)

    duckdb = _DuckDB()


def import_duckdb() -> None:
    """Import DuckDB now (0.04 s of CPU, 14 MB), e.g. on a thread while a core is idle, before
    the history is written; a failed import is left for the first use, which says why.

    >>> import_duckdb()
    """
    with contextlib.suppress(Exception):
        duckdb.Error  # noqa: B018 - imports it


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
    return _opened(path, read_only=read_only, wait_seconds=wait_seconds)[0]


def _opened(path: Path, *, read_only: bool = False,
            wait_seconds: float = 20.0) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """`_open`, and whether the file held no table when it was opened for writing (made by this
    connection, or an empty file: no history either way; False for a reader)."""
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
        empty = not read_only and not con.execute("SELECT 1 FROM duckdb_tables() LIMIT 1").fetchall()
        if not read_only:
            _create_tables(con)
            _move_placed(con)
    except BaseException:
        con.close()
        raise
    return con, empty


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The history's tables (`schema.DDL`, those missing) and its schema version, in one
    transaction: a new file is written to disk once, not once per table."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(DDL)
        con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def _move_placed(con: duckdb.DuckDBPyConnection) -> None:
    """A file written by fanpin of f35c3fd (`staged_runs.placed`, which older versions'
    `INSERT INTO staged_runs VALUES (?)` cannot fill): the column's values moved into
    `placed_runs` and the column dropped, in one transaction. Writes nothing otherwise."""
    if not con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND table_schema = 'main' AND table_name = 'staged_runs' AND column_name = 'placed'"
    ).fetchall()[0][0]:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT OR REPLACE INTO placed_runs SELECT run_id, placed FROM staged_runs WHERE placed IS NOT NULL")
        con.execute("ALTER TABLE staged_runs DROP COLUMN placed")
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


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
    leaves rows that no run names; `staged_runs` lists them, and whatever opens the history
    next for the county's work (`settle`: a run's view, a feedback import, `fanpin history`)
    removes them — unless the run had put its outputs in place (`ready`, just before the swap):
    then the outputs are the run's, and it is counted as `commit` would have. The same holds for
    a run of this process that fails after its swap: `commit` and `rollback` leave its rows
    staged for `settle` then.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "h.duckdb"
    >>> pending = PendingRun(path, RunRecord("永顺县", "2026-11", date(2026, 11, 30), "0"))
    >>> pending.rollback()
    >>> path.exists()  # the county's first month, dropped: no history file left, as before it
    False
    >>> with connect(path):  # a history there before (its tables)
    ...     pass
    >>> PendingRun(path, RunRecord("永顺县", "2026-11", date(2026, 11, 30), "0")).rollback()
    >>> with connect(path) as con:  # kept, without the dropped run
    ...     con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    0
    """

    def __init__(self, path: Path, run: RunRecord, *, wait_seconds: float = 20.0) -> None:
        self._key = (str(path.resolve()), -1)
        # what `commit` writes (the `runs` row): the run without its tables, which are in the
        # file by then (kept, they would stay alive while the outputs are written)
        self._run = replace(run, tables={}, inputs=None)
        self._placed: dict[str, Any] | None = None  # what `ready` said it puts in place
        self._path = path
        # A history file that held nothing before this run (its first month) holds only this
        # run's rows while the connection locks it: dropped, it is removed (`_close`), and the
        # county has no history, as before the run.
        self._con: duckdb.DuckDBPyConnection | None
        self._con, self._created = _opened(path, wait_seconds=wait_seconds)
        try:
            # One thread for DuckDB: the rows are staged beside the outputs, which keep both cores
            # busy (at 50,000 households two threads spent a fifth more CPU compressing them).
            self._con.execute("SET threads = 1")
            self._staged(lambda con: _write_rows(con, run))
        except BaseException:
            con, self._con = self._con, None
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self._close(con, dropped=True)
            raise

    def _staged(self, write: Any) -> None:
        """`write(con)` in one transaction (it returns the run_id the rows are under), checkpointed
        as it is committed (written into the file once, compressed, not first into the .wal):
        what the commit after the swap writes, and its checkpoint when the connection closes,
        is then only the `runs` row."""
        con = self._con
        assert con is not None
        con.execute("BEGIN TRANSACTION")
        run_id = write(con)
        self.run_id = run_id
        self._key = (self._key[0], run_id)
        _LIVE.add(self._key)
        try:
            con.execute("SET checkpoint_threshold = '0B'")
            con.execute("COMMIT")
            con.execute("RESET checkpoint_threshold")
        except BaseException:
            _LIVE.discard(self._key)
            raise

    def add(self, run: RunRecord) -> None:
        """Write the rows of `run`'s tables under this staged run too (a run staged in two parts:
        what was final first, e.g. its links while its rules are evaluated, then the rest beside
        its outputs); `run` is then what `commit` records. On failure the whole staged run is
        dropped (`rollback`) and the error raised."""
        if self._con is None:
            raise HistoryError("历史记录的写入已撤销，不能再写入")
        run_id = self.run_id

        def insert(con: duckdb.DuckDBPyConnection) -> int:
            _insert_rows(con, run, run_id)
            return run_id

        try:
            self._staged(insert)
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self._con.execute("ROLLBACK")
            self.rollback()
            raise
        self._run = replace(run, tables={}, inputs=None)


    def ready(self, summary: Path, out_dir: Path) -> bool:
        """Say what the run is about to put in place, just before its outputs are swapped in:
        its `runs` row and the digest of `summary`, the summary.json that becomes
        `out_dir`/summary.json. Should the run die after the swap and before `commit`, `settle`
        finds that file in place and counts the run; if it died before the swap, the file
        there is another run's and the rows are removed. Once said and swapped in, the outputs
        are the run's: an error or Ctrl-C after the swap (in `commit`, or `rollback` called for
        it) leaves the staged run for `settle` to count. False if it could not be said (`summary`
        unreadable, the history not writable): the run then stops before its swap
        (`runner.swapped_in`), the output folder and the history as they were."""
        if self._con is None:
            return False
        sha256 = _digest(summary)
        if sha256 is None:  # with no digest `settle` could never tell whose summary.json is there
            return False
        placed = {"summary": str(out_dir.resolve() / summary.name), "sha256": sha256,
                  "run": _run_row(self._run, datetime.now())}
        try:
            self._con.execute("INSERT OR REPLACE INTO placed_runs VALUES (?, ?)",
                              [self.run_id, json.dumps(placed, ensure_ascii=False)])
        except duckdb.Error:
            return False
        self._placed = placed
        return True

    def _swapped_in(self) -> bool:
        """Whether the outputs `ready` announced are in place (their summary.json is there)."""
        return self._placed is not None and _in_place(self._placed) is True

    def commit(self) -> int:
        """Make the run count; returns its run_id."""
        con, self._con = self._con, None
        if con is None:
            raise HistoryError("历史记录的写入已撤销，不能再提交")
        try:
            con.execute("BEGIN TRANSACTION")
            _publish(con, self._run, self.run_id, self._key[0])
            # Checkpointed as it is committed, as the staged rows were: the file written once, not
            # first the .wal and then the file when the connection closes (at 3,000 households
            # ~15 ms less after the swap; killed meanwhile, the file is as before the commit).
            con.execute("SET checkpoint_threshold = '0B'")
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            dropped = not self._swapped_in()  # else the outputs are the run's: `settle` counts it
            if dropped and not self._created:
                with contextlib.suppress(duckdb.Error):  # else the next open removes them
                    _drop_rows(con, self.run_id)
            _LIVE.discard(self._key)
            self._close(con, dropped=dropped)
            raise
        _LIVE.discard(self._key)
        con.close()
        return self.run_id

    def rollback(self) -> None:
        """Drop what was written (nothing changes); safe to call twice. Once the outputs `ready`
        announced are in place (the run failed after its swap) nothing is dropped: they are the
        run's, and the next `settle` counts it."""
        con, self._con = self._con, None
        if con is None:
            return
        dropped = False
        try:
            dropped = not self._swapped_in()
            if dropped and not self._created:
                with contextlib.suppress(duckdb.Error):  # else the next open removes them
                    _drop_rows(con, self.run_id)
        finally:
            _LIVE.discard(self._key)
            self._close(con, dropped=dropped)

    def _close(self, con: duckdb.DuckDBPyConnection, *, dropped: bool) -> None:
        """Close `con`; a file this run created (`_created`) whose run is `dropped` is removed.
        Its rows are first checkpointed into the file (nothing of it left in a .wal, which
        DuckDB removes by name as it closes: by then another process may have made a history of
        its own there), then the file is unlinked while the connection still locks it (POSIX:
        no other process can have opened it meanwhile; one waiting for the lock makes a new
        file). Where it cannot be unlinked so (Windows, where an open file cannot be removed and
        one closed could already be another process's; a folder that forbids it) the run's rows
        are dropped from it instead: the file stays, holding no run."""
        remove = dropped and self._created
        removed = False
        try:
            if remove and os.name != "nt":
                with contextlib.suppress(duckdb.Error):
                    con.execute("CHECKPOINT")
                with contextlib.suppress(OSError):
                    self._path.unlink()
                    removed = True
            run_id = getattr(self, "run_id", None)  # (none: the run's first transaction failed)
            if remove and not removed and run_id is not None:
                with contextlib.suppress(duckdb.Error):
                    _drop_rows(con, run_id)
        finally:
            con.close()


# (history file, run_id) of the runs this process has written but not yet committed or dropped:
# `settle` leaves these alone (the staged runs it settles are of processes that died).
_LIVE: set[tuple[str, int]] = set()


def settle(path: Path, *, wait_seconds: float = 20.0) -> list[int]:
    """Settle the runs that died after staging their rows (`settle_open`); nothing when the
    file does not exist. Returns the run_ids counted."""
    if not path.exists():
        return []
    with connect(path, wait_seconds=wait_seconds) as con:
        return settle_open(con, path)


def settle_open(con: duckdb.DuckDBPyConnection, path: Path) -> list[int]:
    """On an open (writable) connection to the history at `path`: count each run that died
    after putting its outputs in place (`PendingRun.ready`: its summary.json is still there),
    remove the rows of every other run that died before its commit — one that never said what
    it puts in place, or whose output folder holds another summary.json or none; a run whose
    folder cannot be reached now (moved, unmounted) is left for a later open, as are the runs
    this process is writing. Writes nothing when no run is staged. Returns the run_ids counted."""
    if not con.execute("SELECT count(*) FROM staged_runs").fetchall()[0][0]:
        return []
    con.execute("BEGIN TRANSACTION")
    try:
        counted = _settle(con, str(path.resolve()))
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return counted


def _settle(con: duckdb.DuckDBPyConnection, path: str, keep: int | None = None) -> list[int]:
    """`settle_open` inside the caller's transaction (`keep`: the caller's own staged run)."""
    counted = []
    # what an older fanpin removed from staged_runs alone
    con.execute("DELETE FROM placed_runs WHERE run_id NOT IN (SELECT run_id FROM staged_runs)")
    for run_id, placed in con.execute(
        "SELECT s.run_id, p.placed FROM staged_runs s LEFT JOIN placed_runs p USING (run_id) ORDER BY s.run_id"
    ).fetchall():
        if run_id == keep or (path, run_id) in _LIVE:
            continue
        state = _in_place(json.loads(placed)) if placed else False
        if state:
            _add_run(con, run_id, json.loads(placed)["run"])
            counted.append(run_id)
        elif state is False:
            _delete_run(con, run_id)
    return counted


def _in_place(placed: dict[str, Any]) -> bool | None:
    """Whether the summary.json a run said it puts in place (`PendingRun.ready`) is there: True
    (the same digest), False (another file there, or none while its folder exists), None (the
    folder or the file cannot be reached: cannot tell).

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _in_place({"summary": str(out / "summary.json"), "sha256": "0"})
    False
    >>> _in_place({"summary": str(out / "gone" / "summary.json"), "sha256": "0"}) is None
    True
    """
    summary = Path(placed["summary"])
    try:
        return _sha256(summary) == placed["sha256"]
    except FileNotFoundError:
        try:
            return False if summary.parent.is_dir() else None
        except OSError:
            return None
    except OSError:
        return None


def _sha256(path: Path) -> str:
    """sha256 of the file at `path` (hex); raises OSError when it cannot be read."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _digest(path: Path) -> str | None:
    """`_sha256`, None if the file cannot be read."""
    try:
        return _sha256(path)
    except OSError:
        return None


RUN_COLUMNS = ("county", "period", "reference_date", "version", "recorded_at", "config_file", "out_dir",
               "params", "counts")


def _run_row(run: RunRecord, recorded_at: datetime) -> dict[str, str]:
    """`run`'s row of `runs` (but its run_id) as texts, for `_add_run` now or after the run died.

    >>> _run_row(RunRecord("永顺县", "2026-11", date(2026, 11, 30), "0"), datetime(2026, 12, 1))["recorded_at"]
    '2026-12-01T00:00:00'
    """
    return {"county": run.county, "period": run.period, "reference_date": run.reference_date.isoformat(),
            "version": run.version, "recorded_at": recorded_at.isoformat(), "config_file": run.config_file,
            "out_dir": run.out_dir, "params": json.dumps(run.params, ensure_ascii=False, default=str),
            "counts": json.dumps(run.counts, ensure_ascii=False, default=str)}


def _write_rows(con: duckdb.DuckDBPyConnection, run: RunRecord) -> int:
    """Insert the rows of `run`'s tables under a new run_id (inside the caller's transaction)
    and list it in `staged_runs`; returns the run_id. No `runs` row names it yet."""
    run_id = int(con.execute("SELECT nextval('run_ids')").fetchall()[0][0])
    _insert_rows(con, run, run_id)
    con.execute("INSERT INTO staged_runs (run_id) VALUES (?)", [run_id])
    return run_id


def _insert_rows(con: duckdb.DuckDBPyConnection, run: RunRecord, run_id: int) -> None:
    """Insert the rows of `run`'s tables (and its inputs) under `run_id`."""
    frames = dict(run.tables)
    if run.inputs is not None:
        frames["run_inputs"] = run.inputs
    for table, frame in frames.items():
        insert_frame(con, table, frame.with_columns(pl.lit(run_id, pl.Int32).alias("run_id")))


def _publish(con: duckdb.DuckDBPyConnection, run: RunRecord, run_id: int, path: str) -> None:
    """Inside the caller's transaction: settle the runs that died before their commit
    (`settle_open`), then replace the county's earlier run of the same period with `run`."""
    _settle(con, path, keep=run_id)
    _add_run(con, run_id, _run_row(run, datetime.now()))


def _add_run(con: duckdb.DuckDBPyConnection, run_id: int, row: dict[str, str]) -> None:
    """Inside the caller's transaction: delete the earlier run of the same county and period
    and add the `runs` row of the staged run `run_id` (`row` as `_run_row` makes it)."""
    old = [r[0] for r in con.execute(
        "SELECT run_id FROM runs WHERE county = ? AND period = ?", [row["county"], row["period"]]
    ).fetchall()]
    for old_id in old:
        _delete_run(con, old_id)
    for table in ("staged_runs", "placed_runs"):
        con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
    con.execute(
        f"INSERT INTO runs (run_id, {', '.join(RUN_COLUMNS)}) "
        "VALUES (?, ?, ?, CAST(? AS DATE), ?, CAST(? AS TIMESTAMP), ?, ?, ?, ?)",
        [run_id, *(row[c] for c in RUN_COLUMNS)],
    )


def _delete_run(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Inside the caller's transaction: every row of `run_id`, counted or staged."""
    for table in (*RUN_TABLES, "runs", "staged_runs", "placed_runs"):
        con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])


def _drop_rows(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Delete the rows written for `run_id` (a run that will not be committed), in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (*RUN_TABLES, "staged_runs", "placed_runs"):
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
