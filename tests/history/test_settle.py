"""Runs that died between staging their history rows and committing them (`store.settle`):
one that had already put its outputs in place counts (its summary.json is there), one that had
not is removed; a live run of this process is left alone; a history file made before
`placed_runs` existed opens and records, one of f35c3fd (`staged_runs.placed`) is moved to
`placed_runs`, and older fanpin versions can still stage a run in a file the new code opened."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from fanpin_cli.history import load_view, record_run
from fanpin_cli.history import store as store_mod
from fanpin_cli.history.schema import DDL, RUN_TABLES

from .test_store import _run

HERE = Path(__file__).parent


def _die_after_staging(db: Path, period: str, flag: str, stage: Path, out: Path, *, swapped: bool) -> None:
    """In a child process: stage a run of `period` (one flag `flag`), write its summary.json into
    `stage`, mark it ready to be put in place at `out`, swap `stage` in as `out` if `swapped`,
    and die (os._exit: no rollback, no commit)."""
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from pathlib import Path\n"
        "from test_store import _run\n"
        "from fanpin_cli.history import store\n"
        f"stage, out = Path({str(stage)!r}), Path({str(out)!r})\n"
        f"pending = store.PendingRun(Path({str(db)!r}), _run({period!r}, [({flag!r}, 'DIS_SEVERE', 4, '一级')]))\n"
        "stage.mkdir()\n"
        f"(stage / 'summary.json').write_text('{{\"period\": \"{period}\", \"pid\": %d}}' % os.getpid())\n"
        "pending.ready(stage / 'summary.json', out)\n"
        f"if {swapped!r}:\n"
        "    os.rename(out, stage.with_name('old')) if out.exists() else None\n"
        "    os.rename(stage, out)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _periods(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT period FROM runs ORDER BY period").fetchall()]


def _left(db: Path) -> tuple[int, int]:
    """(staged runs, rows of any run table that no `runs` row names)."""
    with duckdb.connect(str(db), read_only=True) as con:
        staged = con.execute("SELECT count(*) FROM staged_runs").fetchone()[0]
        unnamed = sum(con.execute(f"SELECT count(*) FROM {t} WHERE run_id NOT IN (SELECT run_id FROM runs)")
                      .fetchone()[0] for t in RUN_TABLES)
    return staged, unnamed


def _out_with_summary(tmp_path: Path, text: str) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text(text)
    return out


def test_run_that_died_once_its_outputs_were_in_place_counts(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    record_run(db, _run("2026-11", [("F0", "MED_UNINSURED", 3, "无参保")]))
    out = _out_with_summary(tmp_path, '{"period": "2026-11", "earlier": true}')
    _die_after_staging(db, "2026-11", "F2", tmp_path / ".out.stage", out, swapped=True)
    assert _periods(db) == ["2026-10", "2026-11"] and _left(db)[0] == 1  # not counted yet

    (counted,) = store_mod.settle(db)  # what the next run, feedback import or `fanpin history` does first
    assert _periods(db) == ["2026-10", "2026-11"] and _left(db) == (0, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT run_id, county, reference_date FROM runs WHERE period = '2026-11'").fetchall() == [
            (counted, "永顺县", _run("2026-11", []).reference_date)]
        assert sorted(r[0] for r in con.execute("SELECT record_key FROM flags").fetchall()) == ["F1", "F2"]
    assert load_view(db, "永顺县", "2026-12").previous_flags["record_key"].to_list() == ["F2"]  # it replaced F0's run
    assert store_mod.settle(db) == []  # nothing left to settle


@pytest.mark.parametrize("out_summary", ['{"period": "2026-10"}', None])
def test_run_that_died_before_its_outputs_were_in_place_is_removed(tmp_path: Path, out_summary: str | None) -> None:
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    # the output folder still holds the previous run's outputs, or none (a first run into it:
    # the run created the folder, as `outdir.output_folder` does before anything is staged)
    out = _out_with_summary(tmp_path, out_summary) if out_summary is not None else tmp_path / "out"
    out.mkdir(exist_ok=True)
    _die_after_staging(db, "2026-11", "F2", tmp_path / ".out.stage", out, swapped=False)
    assert _left(db)[0] == 1
    # the first to open the history for the county's work removes it (here a run's view)
    assert load_view(db, "永顺县", "2026-12").previous_flags["record_key"].to_list() == ["F1"]
    assert _periods(db) == ["2026-10"] and _left(db) == (0, 0)


def test_live_run_of_this_process_is_not_settled(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    out = tmp_path / "out"
    pending = store_mod.PendingRun(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    try:
        out.mkdir()
        (out / "summary.json").write_text("{}")
        pending.ready(out / "summary.json", out)  # as if already swapped in
        assert store_mod.settle(db) == []
        assert load_view(db, "永顺县", "2026-12").previous_period is None
    finally:
        run_id = pending.commit()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT run_id, period FROM runs").fetchall() == [(run_id, "2026-11")]
    assert _left(db) == (0, 0)


def test_history_file_made_before_placed_existed_opens_and_records(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    old_ddl = DDL.replace("CREATE TABLE IF NOT EXISTS placed_runs (run_id INTEGER PRIMARY KEY, placed VARCHAR);\n", "")
    assert old_ddl != DDL
    with duckdb.connect(str(db)) as con:  # session 8's file, with a killed run's staged rows
        con.execute(old_ddl)
        con.execute("INSERT INTO flags (run_id, record_key) VALUES (7, 'F9')")
        con.execute("INSERT INTO staged_runs VALUES (7)")
    record_run(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    assert _periods(db) == ["2026-11"] and _left(db) == (0, 0)


def test_run_whose_folder_cannot_be_reached_is_left_until_it_can(tmp_path: Path) -> None:
    # The output folder on a USB stick or a share that is not there now: whose summary.json is
    # in place cannot be told, so the run is neither counted nor removed until it is back.
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    out = _out_with_summary(tmp_path, '{"period": "2026-10"}')
    _die_after_staging(db, "2026-11", "F2", tmp_path / ".out.stage", out, swapped=True)
    out.rename(tmp_path / "elsewhere")
    assert store_mod.settle(db) == []
    assert load_view(db, "永顺县", "2026-12").previous_period == "2026-10"
    assert _periods(db) == ["2026-10"] and _left(db)[0] == 1  # still staged, rows kept
    (tmp_path / "elsewhere").rename(out)
    (counted,) = store_mod.settle(db)
    assert _periods(db) == ["2026-10", "2026-11"] and _left(db) == (0, 0)
    assert load_view(db, "永顺县", "2026-12").previous_flags["record_key"].to_list() == ["F2"]


def _staged_and_swapped(db: Path, tmp_path: Path, period: str, *, swap: bool) -> tuple[store_mod.PendingRun, Path]:
    """A live run of `period` (flag F2) staged, its summary.json written into a staging folder,
    `ready`, and (`swap`) that folder put in place as out/ (month 1's out/ moved away)."""
    out = _out_with_summary(tmp_path, '{"period": "2026-10"}')
    stage = tmp_path / ".out.stage"
    pending = store_mod.PendingRun(db, _run(period, [("F2", "DIS_SEVERE", 4, "一级")]))
    stage.mkdir()
    (stage / "summary.json").write_text(f'{{"period": "{period}"}}')
    assert pending.ready(stage / "summary.json", out)
    if swap:
        out.rename(tmp_path / "old")
        stage.rename(out)
    return pending, out


@pytest.mark.parametrize("error", [KeyboardInterrupt, duckdb.IOException])
def test_commit_failing_after_the_swap_leaves_the_run_to_be_counted(tmp_path: Path, error: type,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C or a DuckDB error in the commit's transaction once the outputs are in place: the
    # folder holds the run's outputs, so its staged rows are kept and the next open counts it.
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    pending, _ = _staged_and_swapped(db, tmp_path, "2026-11", swap=True)

    def publish(*args: object) -> None:
        raise error("commit interrupted")

    monkeypatch.setattr(store_mod, "_publish", publish)
    with pytest.raises(error):
        pending.commit()
    monkeypatch.undo()
    pending.rollback()  # as the callers' `finally` may: still nothing dropped
    assert _periods(db) == ["2026-10"] and _left(db)[0] == 1
    (counted,) = store_mod.settle(db)
    assert counted == pending.run_id and _periods(db) == ["2026-10", "2026-11"] and _left(db) == (0, 0)
    assert load_view(db, "永顺县", "2026-12").previous_flags["record_key"].to_list() == ["F2"]


def test_rollback_after_the_swap_leaves_the_run_to_be_counted(tmp_path: Path) -> None:
    # An error or Ctrl-C in the old folder's removal, after the swap: the caller rolls back.
    db = tmp_path / "h.duckdb"
    pending, _ = _staged_and_swapped(db, tmp_path, "2026-11", swap=True)
    pending.rollback()
    assert _periods(db) == [] and _left(db)[0] == 1
    assert load_view(db, "永顺县", "2026-12").previous_period == "2026-11"  # the next open counts it
    assert _left(db) == (0, 0)


@pytest.mark.parametrize("how", ["rollback", "commit"])
def test_failure_before_the_swap_still_drops_the_run(tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # `ready` said, but the swap never happened (out/ holds month 10's summary.json): the rows
    # are dropped at once, before any other open of the history.
    db = tmp_path / "h.duckdb"
    record_run(db, _run("2026-10", [("F1", "MED_UNINSURED", 3, "无参保")]))
    pending, out = _staged_and_swapped(db, tmp_path, "2026-11", swap=False)
    if how == "rollback":
        pending.rollback()
    else:
        def publish(*args: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(store_mod, "_publish", publish)
        with pytest.raises(KeyboardInterrupt):
            pending.commit()
    assert _periods(db) == ["2026-10"] and _left(db) == (0, 0)
    assert (out / "summary.json").read_text() == '{"period": "2026-10"}'


def test_ready_without_a_readable_summary_is_not_said(tmp_path: Path) -> None:
    # No digest, nothing to recognise the outputs by: `ready` says nothing (were it said, a run
    # killed after it would count whenever out/ held no summary.json).
    db = tmp_path / "h.duckdb"
    with store_mod.connect(db):  # a history there before (a first month dropped leaves no file)
        pass
    out = tmp_path / "out"
    out.mkdir()
    pending = store_mod.PendingRun(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    try:
        assert pending.ready(tmp_path / "missing" / "summary.json", out) is False
        assert pending._con.execute("SELECT count(*) FROM placed_runs").fetchall() == [(0,)]
    finally:
        pending.rollback()
    assert _left(db) == (0, 0)


def test_history_file_of_f35c3fd_moves_placed_into_its_own_table(tmp_path: Path) -> None:
    # Written by f35c3fd's fanpin (`placed` a column of staged_runs) with a run killed after its
    # swap: opened by this version, the column is moved out and the run still counts.
    db = tmp_path / "h.duckdb"
    out = _out_with_summary(tmp_path, '{"period": "2026-11"}')
    placed = {"summary": str(out.resolve() / "summary.json"),
              "sha256": store_mod._digest(out / "summary.json"),
              "run": store_mod._run_row(_run("2026-11", []), datetime(2026, 12, 1))}
    f35c3fd_ddl = DDL.replace("CREATE TABLE IF NOT EXISTS placed_runs (run_id INTEGER PRIMARY KEY, placed VARCHAR);\n",
                              "ALTER TABLE staged_runs ADD COLUMN IF NOT EXISTS placed VARCHAR;\n")
    assert f35c3fd_ddl != DDL
    with duckdb.connect(str(db)) as con:
        con.execute(f35c3fd_ddl)
        con.execute("INSERT INTO flags (run_id, record_key) VALUES (7, 'F7')")
        con.execute("INSERT INTO staged_runs VALUES (7, ?)", [json.dumps(placed, ensure_ascii=False)])
    assert store_mod.settle(db) == [7]
    assert _periods(db) == ["2026-11"] and _left(db) == (0, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert [r[0] for r in con.execute("DESCRIBE staged_runs").fetchall()] == ["run_id"]


def test_older_fanpin_can_still_stage_a_run_in_a_file_this_version_opened(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    pending = store_mod.PendingRun(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    assert pending.ready(out / "summary.json", out)
    pending.commit()
    with duckdb.connect(str(db)) as con:  # what fanpin before f35c3fd does to stage and drop a run
        con.execute("INSERT INTO staged_runs VALUES (?)", [42])
        con.execute("DELETE FROM staged_runs WHERE run_id = ?", [42])
    record_run(db, _run("2026-12", []))
    assert _periods(db) == ["2026-11", "2026-12"] and _left(db) == (0, 0)


def test_a_first_month_whose_file_cannot_be_removed_drops_its_rows_instead(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Dropped, a first month's history file is removed; where that fails (a folder that forbids
    # it; Windows, where it is never tried) the file stays without the run's rows.
    db = tmp_path / "h.duckdb"
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self == db:
            raise PermissionError(13, "Permission denied", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    pending = store_mod.PendingRun(db, _run("2026-11", [("F2", "DIS_SEVERE", 4, "一级")]))
    pending.rollback()
    monkeypatch.undo()
    assert db.exists() and _left(db) == (0, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM flags").fetchone()[0] == 0
