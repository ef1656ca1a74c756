"""A county job of a real `fanpin province` run (local engine, a child process) killed
(SIGKILL) at a chosen point of recording its month: right after its outputs went in place, before
the month was committed ("swapped") — the month counts, the history says what the county's
folder holds; or just before the swap, its history rows staged ("before") — the history reads
as before and the staged rows are removed by whatever opens it next, the folder holds the
previous month's outputs, and the next province run succeeds. A county whose outputs cannot be
written rolls its staged rows back itself and fails alone. (`fanpin run` killed the same ways:
test_kill_history.py.)

The child is `python -c` (WRAPPER): it patches the swap (`outdir._exchange`) or the commit
(`PendingRun.commit`) to SIGKILL itself there, after saying through a file that it got there."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl
import pytest

from fanpin_cli.config import load_config
from fanpin_cli.history.store import connect
from fanpin_cli.history.timeline import list_runs
from fanpin_cli.history.view import load_view
from fanpin_cli.outdir import STAGE_MARK
from fanpin_cli.province import run_province
from fanpin_cli.synth.months import generate_months

from .test_kill_history import HISTORY, MONTH1, MONTH2, _canon, _files, _unnamed_rows

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

MONTH3 = "2027-01"

# `run_province(argv[3], argv[4])` (local engine, history on), killed at argv[1] ("before": the
# swap of a county's folder about to be made; "swapped": the month's commit about to be made,
# the outputs in place); argv[2] is the file that says the kill point was reached.
WRAPPER = """
import os, signal, sys
from pathlib import Path
from fanpin_cli import outdir
from fanpin_cli.history import store

point, there = sys.argv[1], Path(sys.argv[2])

def die():
    there.write_text(point, encoding="utf-8")
    os.kill(os.getpid(), signal.SIGKILL)

real_exchange = outdir._exchange
def exchange(stage, out):
    if point == "before":
        die()
    return real_exchange(stage, out)
outdir._exchange = exchange

real_commit = store.PendingRun.commit
def commit(self):
    if point == "swapped":
        die()
    return real_commit(self)
store.PendingRun.commit = commit

from fanpin_cli.province import run_province
run_province(Path(sys.argv[3]), Path(sys.argv[4]))
"""


def _province(root: Path, config: str) -> Path:
    """PROVINCE-<config>.toml in `root`, naming the one county config `county/<config>`."""
    path = root / f"PROVINCE-{config}"
    path.write_text(f'[province]\nname = "湘西州"\n\n[[counties]]\nconfig = "county/{config}"\n', encoding="utf-8")
    return path


@dataclass
class Month1:
    """A county after month 1 of a province run: its history as read then, its folder's files."""

    root: Path
    county: str
    runs: pl.DataFrame
    view2: dict[str, object]  # month 1 as month 2's view shows it
    files: dict[str, str]


def _view(history: Path, county: str, period: str) -> dict[str, object]:
    """The view a run of `period` opens, as a comparable value."""
    view = load_view(history, county, period)
    values = {f.name: getattr(view, f.name) for f in fields(view)}
    return {name: _canon(v) if isinstance(v, pl.DataFrame) else v for name, v in values.items()}


@pytest.fixture(scope="module")
def month1(tmp_path_factory: pytest.TempPathFactory) -> Month1:
    root = tmp_path_factory.mktemp("province_month1")
    generate_months(100, 11, root / "county", 2)
    result = run_province(_province(root, f"fanpin-{MONTH1}.toml"), root / "out")
    (outcome,) = result.engine.outcomes
    assert outcome.ok, outcome.error
    county = load_config(root / "county" / f"fanpin-{MONTH2}.toml").county
    history = root / "county" / HISTORY
    view2 = _view(history, county, MONTH2)
    assert view2["previous_period"] == MONTH1 and view2["previous_flags"][1], "month 2 would compare with nothing"
    return Month1(root, county, list_runs(history, county), view2, _files(root / "out" / county))


@pytest.fixture
def root(month1: Month1, tmp_path: Path) -> Path:
    """A copy of the month-1 county (its history and key inside) and the province's output folder."""
    shutil.copytree(month1.root / "county", tmp_path / "county")
    shutil.copytree(month1.root / "out", tmp_path / "out")
    return tmp_path


def _province_killed(point: str, root: Path) -> None:
    """Month 2 of the province into `root/out` in a child process that kills itself at `point`."""
    there, log = root / "there", root / "child.stderr"
    with log.open("wb") as err:
        proc = subprocess.run([sys.executable, "-c", WRAPPER, point, str(there),
                               str(_province(root, f"fanpin-{MONTH2}.toml")), str(root / "out")],
                              stdout=subprocess.DEVNULL, stderr=err, timeout=300, check=False)
    assert there.exists() and there.read_text(encoding="utf-8") == point, \
        f"the county job did not reach {point!r}: {log.read_text(errors='replace')[-2000:]}"
    assert proc.returncode == -signal.SIGKILL


def _staged(history: Path) -> dict[int, str | None]:
    """`staged_runs` (read-only): run_id → what the run said it was putting in place."""
    with connect(history, read_only=True) as con:
        return dict(con.execute(
            "SELECT s.run_id, p.placed FROM staged_runs s LEFT JOIN placed_runs p USING (run_id)").fetchall())


def test_county_job_killed_once_its_outputs_are_in_place_counts_in_the_history(month1: Month1, root: Path) -> None:
    history, folder = root / "county" / HISTORY, root / "out" / month1.county
    _province_killed("swapped", root)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["period"] == MONTH2 and not list(folder.rglob("*.tmp"))
    assert not list((root / "out").glob(f".{month1.county}{STAGE_MARK}*"))
    flags2 = pl.read_csv(folder / "flags.csv", infer_schema_length=0)
    assert flags2.height

    # The next to open the history (month 3's view, as the next province run reads it on the
    # driver) finds month 2 counted, as the county's folder holds it.
    month3 = load_view(history, month1.county, MONTH3)
    assert month3.previous_period == MONTH2
    assert sorted(month3.previous_flags["record_key"]) == sorted(flags2["record_key"])
    runs = list_runs(history, month1.county)
    assert runs["period"].to_list() == [MONTH2, MONTH1]
    assert runs.filter(pl.col("period") == MONTH2)["flags"].item() == flags2.height
    assert _canon(runs.filter(pl.col("period") == MONTH1)) == _canon(month1.runs)
    assert _view(history, month1.county, MONTH2) == month1.view2  # month 1 unchanged
    assert _staged(history) == {} and _unnamed_rows(history) == {}


def test_county_job_killed_before_the_swap_leaves_the_history_as_before(month1: Month1, root: Path) -> None:
    history, folder = root / "county" / HISTORY, root / "out" / month1.county
    _province_killed("before", root)
    # Killed with month 2 written beside the folder and its history rows staged, marked as about
    # to be put in place; the folder still holds month 1.
    (stage,) = (root / "out").glob(f".{month1.county}{STAGE_MARK}*")
    assert json.loads((stage / "summary.json").read_text(encoding="utf-8"))["period"] == MONTH2
    staged = _staged(history)
    assert len(staged) == 1 and all(placed for placed in staged.values()), staged
    assert _files(folder) == month1.files

    # The next to open the history reads month 1 as it was and removes the staged rows.
    assert _view(history, month1.county, MONTH2) == month1.view2
    assert _canon(list_runs(history, month1.county)) == _canon(month1.runs)
    assert _staged(history) == {} and _unnamed_rows(history) == {}

    # The next province run succeeds and removes the killed one's staging folder.
    result = run_province(_province(root, f"fanpin-{MONTH2}.toml"), root / "out")
    (outcome,) = result.engine.outcomes
    assert outcome.ok, outcome.error
    assert not list((root / "out").glob(f".{month1.county}{STAGE_MARK}*"))
    runs = list_runs(history, month1.county)
    assert runs["period"].to_list() == [MONTH2, MONTH1]
    assert _canon(runs.filter(pl.col("period") == MONTH1)) == _canon(month1.runs)
    assert _staged(history) == {} and _unnamed_rows(history) == {}


def test_county_whose_outputs_cannot_be_written_rolls_its_staged_rows_back(month1: Month1, root: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The writing fails (the disk fills up) while the month's rows are staged beside it: the
    # county fails with its error, the province goes on, and its own run drops the staged rows
    # (read before anything else opens the history, which would remove them too).
    from fanpin_cli import outputs

    real = outputs.write_outputs

    def full_disk(artifacts, stage, **kwargs):
        real(artifacts, stage, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_outputs", full_disk)
    history, folder = root / "county" / HISTORY, root / "out" / month1.county
    result = run_province(_province(root, f"fanpin-{MONTH2}.toml"), root / "out")
    (outcome,) = result.engine.outcomes
    assert not outcome.ok and outcome.error.endswith("写出结果失败：磁盘空间已满")
    assert result.summary["totals"]["counties_failed"] == 1
    assert _staged(history) == {} and _unnamed_rows(history) == {}
    assert _files(folder) == month1.files
    assert not list((root / "out").glob(f".{month1.county}{STAGE_MARK}*"))
    assert _canon(list_runs(history, month1.county)) == _canon(month1.runs)
