"""A real month-2 run (`pipeline.run_job`, in this process) that fails once its outputs are in
place — Ctrl-C right after the folder swap (in the old folder's removal), or a DuckDB error in
the commit's transaction — still counts: the folder holds its outputs, so the next open of the
history finds month 2 with the flags its flags.csv holds. One that fails just before the swap
leaves the folder and the history as they were, its staged rows dropped at once. (Killed at
those points: test_kill_history.py, test_kill_province.py.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from fanpin_cli import outdir
from fanpin_cli.cli import app
from fanpin_cli.config import load_config
from fanpin_cli.history import store
from fanpin_cli.history.timeline import list_runs
from fanpin_cli.history.view import load_view
from fanpin_cli.pipeline import run_job
from fanpin_cli.synth.months import generate_months

from .test_kill_history import HISTORY, MONTH1, MONTH2, _canon, _files, _unnamed_rows

runner = CliRunner()


@pytest.fixture(scope="module")
def month1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A county after month 1 (run into `out/`, history on)."""
    root = tmp_path_factory.mktemp("order")
    generate_months(60, 11, root / "county", 2)
    done = runner.invoke(app, ["run", str(root / "county" / f"fanpin-{MONTH1}.toml"), "--out", str(root / "out"), "-q"])
    assert done.exit_code == 0, done.output
    return root


@pytest.fixture
def county(month1: Path, tmp_path: Path) -> Path:
    shutil.copytree(month1 / "county", tmp_path / "county")
    shutil.copytree(month1 / "out", tmp_path / "out")
    return tmp_path


def _staged(history: Path) -> int:
    with store.connect(history, read_only=True) as con:
        return con.execute("SELECT count(*) FROM staged_runs").fetchone()[0]


def _fail_after_swap(monkeypatch: pytest.MonkeyPatch, point: str) -> type[BaseException]:
    """Make the run fail at `point` after its outputs went in place; the error it raises."""
    if point == "swap":
        real = outdir._exchange

        def exchange(stage: Path, out: Path) -> bool:
            if real(stage, out):
                raise KeyboardInterrupt  # Ctrl-C while the old folder is being removed
            return False

        monkeypatch.setattr(outdir, "_exchange", exchange)
        return KeyboardInterrupt

    def publish(*args: object) -> None:
        raise duckdb.IOException("IO Error: could not write the history file")

    monkeypatch.setattr(store, "_publish", publish)
    return duckdb.IOException


@pytest.mark.parametrize("point", ["swap", "commit"])
def test_run_failing_once_its_outputs_are_in_place_counts(county: Path, point: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config2 = county / "county" / f"fanpin-{MONTH2}.toml"
    out, history = county / "out", county / "county" / HISTORY
    name = load_config(config2).county
    month1_runs = list_runs(history, name)
    error = _fail_after_swap(monkeypatch, point)
    with pytest.raises(error):
        run_job(load_config(config2), out)
    monkeypatch.undo()
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["period"] == MONTH2
    flags2 = pl.read_csv(out / "flags.csv", infer_schema_length=0)
    assert list_runs(history, name)["period"].to_list() == [MONTH1] and _staged(history) == 1  # kept, not dropped

    month3 = load_view(history, name, "2027-01")  # the next open counts month 2
    assert month3.previous_period == MONTH2
    assert sorted(month3.previous_flags["record_key"]) == sorted(flags2["record_key"])
    runs = list_runs(history, name)
    assert runs["period"].to_list() == [MONTH2, MONTH1]
    assert runs.filter(pl.col("period") == MONTH2)["flags"].item() == flags2.height
    assert _canon(runs.filter(pl.col("period") == MONTH1)) == _canon(month1_runs)
    assert _staged(history) == 0 and _unnamed_rows(history) == {}


def test_run_failing_just_before_the_swap_is_dropped(county: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config2 = county / "county" / f"fanpin-{MONTH2}.toml"
    out, history = county / "out", county / "county" / HISTORY
    name = load_config(config2).county
    month1_runs, month1_files = list_runs(history, name), _files(out)

    def exchange(stage: Path, out: Path) -> bool:
        raise KeyboardInterrupt  # Ctrl-C as the folders were about to be exchanged

    monkeypatch.setattr(outdir, "_exchange", exchange)
    with pytest.raises(KeyboardInterrupt):
        run_job(load_config(config2), out)
    monkeypatch.undo()
    assert _staged(history) == 0 and _unnamed_rows(history) == {}  # dropped by the run itself
    assert _canon(list_runs(history, name)) == _canon(month1_runs) and _files(out) == month1_files
    assert load_view(history, name, "2027-01").previous_period == MONTH1
