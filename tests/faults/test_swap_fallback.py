"""The output folder put in place file by file, where the two folders cannot be exchanged in one
system call (NFS, CIFS: `outdir._exchange` returns False): summary.json goes last, the old one
first, so that out/summary.json is the run's only once every other output is in place. The
history counts a run that failed or was killed during those moves only if its summary.json is
in place (`PendingRun.ready`): never a folder where some files are still the previous run's."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from fanpin_cli import outdir
from fanpin_cli.history import store
from fanpin_cli.outdir import OutputError, commit_folder

NEW = {"links.csv": "new links", "flags.csv": "new flags", "review.csv": "new review", "乡镇/大坝乡.xlsx": "new book",
       "summary.json": '{"period": "2026-12"}'}
OLD = {"links.csv": "old links", "flags.csv": "old flags", "review.csv": "old review", "乡镇/大坝乡.xlsx": "old book",
       "quality_issues.csv": "old, not written by the new run", "summary.json": '{"period": "2026-11"}',
       "mine.txt": "a clerk's own notes"}
MOVES = 5  # moves before summary.json: links, flags, review, 乡镇/ and the clerk's mine.txt (carried over)


def _run(period: str) -> store.RunRecord:
    return store.RunRecord("永顺县", period, date.fromisoformat(f"{period}-28"), "0")


def _folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _read(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def _counted(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT period FROM runs ORDER BY period").fetchall()]


def test_files_are_moved_one_by_one_summary_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, stage = _folder(tmp_path / "out", OLD), _folder(tmp_path / ".out.stage", NEW)
    moved: list[str] = []
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        assert not (Path(dst).name != "summary.json" and (out / "summary.json").exists()), \
            "the old summary.json is still there while new files go in"
        moved.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "replace", replace)
    commit_folder(stage, out)
    assert moved[-1] == "summary.json" and len(moved) == MOVES + 1
    assert _read(out) == {**NEW, "mine.txt": OLD["mine.txt"]} and not stage.exists()


def _ready(tmp_path: Path) -> tuple[Path, store.PendingRun, Path, Path]:
    db = tmp_path / "h.duckdb"
    store.record_run(db, _run("2026-11"))
    out, stage = _folder(tmp_path / "out", OLD), _folder(tmp_path / ".out.stage", NEW)
    pending = store.PendingRun(db, _run("2026-12"))
    assert pending.ready(stage / "summary.json", out)
    return db, pending, out, stage


@pytest.mark.parametrize("fails_at", [0, 2, MOVES])
def test_error_in_the_moves_counts_the_run_only_once_its_summary_is_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails_at: int) -> None:
    # The disk fills up at the `fails_at`-th move (the first, one in the middle, summary.json's
    # own): the run failed before its outputs were in place; its rows go at once.
    db, pending, out, stage = _ready(tmp_path)
    real_replace, calls = os.replace, []

    def replace(src: str | Path, dst: str | Path) -> None:
        calls.append(dst)
        if len(calls) > fails_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputError):
        commit_folder(stage, out)
    monkeypatch.undo()
    pending.rollback()
    assert not (out / "summary.json").exists()  # no summary.json beside a mix of old and new
    assert store.settle(db) == [] and _counted(db) == ["2026-11"]


def test_interrupted_once_the_summary_is_in_place_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C in the moment after the last move (summary.json in place): the outputs are whole.
    db, pending, out, stage = _ready(tmp_path)
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        if Path(dst).name == "summary.json":
            raise KeyboardInterrupt

    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        commit_folder(stage, out)
    monkeypatch.undo()
    pending.rollback()
    assert _read(out) == {**NEW, "mine.txt": OLD["mine.txt"]}
    assert store.settle(db) == [pending.run_id] and _counted(db) == ["2026-11", "2026-12"]


# In a child: stage month 12's history rows, `ready`, then put the folder in place file by file
# and die (os._exit: no rollback, no commit) after argv[1] moves.
CHILD = """
import datetime, os, sys
from pathlib import Path
from fanpin_cli import outdir
from fanpin_cli.history import store
after, root = int(sys.argv[1]), Path(sys.argv[2])
pending = store.PendingRun(root / "h.duckdb", store.RunRecord("永顺县", "2026-12", datetime.date(2026, 12, 28), "0"))
assert pending.ready(root / ".out.stage" / "summary.json", root / "out")
outdir._exchange = lambda a, b: False
real_replace, moves = os.replace, []
def replace(src, dst):
    if len(moves) == after:
        os._exit(0)
    moves.append(dst)
    real_replace(src, dst)
os.replace = replace
outdir.commit_folder(root / ".out.stage", root / "out")
os._exit(0)
"""


@pytest.mark.parametrize("after", [2, MOVES + 1])
def test_killed_in_the_moves_counts_only_once_its_summary_is_in_place(tmp_path: Path, after: int) -> None:
    db = tmp_path / "h.duckdb"
    store.record_run(db, _run("2026-11"))
    out = _folder(tmp_path / "out", OLD)
    _folder(tmp_path / ".out.stage", NEW)
    subprocess.run([sys.executable, "-c", CHILD, str(after), str(tmp_path)],
                   check=True, timeout=120)
    placed = (out / "summary.json").exists()
    assert placed == (after == MOVES + 1)
    store.settle(db)
    assert _counted(db) == (["2026-11", "2026-12"] if placed else ["2026-11"])
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staged_runs").fetchone()[0] == 0
