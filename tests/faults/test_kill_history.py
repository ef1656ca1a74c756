"""A real `fanpin run` killed (SIGKILL to its whole process group, the report.xlsx process
too) while it writes its outputs — its history rows already staged in the file beside them
("write") — or while it computes ("compute"): the history reads as it did before, through the readers that `fanpin
history`, `fanpin feedback` and the next month's run use; the output folder holds the
previous run's outputs unchanged, no half-written file in place; and the next run succeeds and
removes what the killed one left (its staged rows, its staging folder). Killed in the moment
after its outputs went in place ("swapped"), the run counts: the history says what the folder
holds.

The kill lands at a chosen point, not after a delay: the run is started through a small
wrapper (`python -c`, then the CLI's own `main`) that holds it there and says so through a
file: a CSV half-written into the staging folder once the history's rows are staged, the
linking of the first file, or the swap. (Killed inside the transaction that stages the rows:
tests/history/test_monthly_loop.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner
from villages import answer_workbook

from fanpin_cli.cli import app
from fanpin_cli.config import load_config
from fanpin_cli.history.feedback import _known_records
from fanpin_cli.history.schema import RUN_TABLES
from fanpin_cli.history.store import connect
from fanpin_cli.history.timeline import list_runs, timeline
from fanpin_cli.history.view import load_view
from fanpin_cli.outdir import STAGE_MARK
from fanpin_cli.synth.months import generate_months

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir() or not hasattr(os, "killpg"),
                                reason="needs /proc and process groups (Linux)")

runner = CliRunner()
MONTH1, MONTH2 = "2026-11", "2026-12"
HISTORY = "fanpin-history.duckdb"
HELD = "flags.csv"  # the output the run is held in, half-written (links.csv is written before it)

# Runs the CLI as `python -m fanpin_cli.cli` does, held at one point until it is killed:
# argv[1] the point ("compute", "write" or "swapped"), argv[2] the file that says it is there, argv[3]
# the output held half-written, then the CLI's arguments.
WRAPPER = """
import io, sys, threading, time
from pathlib import Path
from fanpin_cli import linking, outdir, outputs
from fanpin_cli.history import runner

point, ready, HELD = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

def hold():
    ready.write_text("held", encoding="utf-8")
    time.sleep(600)

staged = threading.Event()
real_stage = runner.HistoryRun.stage
def stage(self, *args, **kwargs):
    try:
        return real_stage(self, *args, **kwargs)
    finally:
        staged.set()
runner.HistoryRun.stage = stage

real_write = outputs.atomic_write
def atomic_write(path, write):
    if point != "write" or path.name != HELD:
        return real_write(path, write)
    def half(fh):
        buffer = io.BytesIO()
        write(buffer)
        fh.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        fh.flush()
        if staged.wait(300):  # the history's rows are in the file (not counted yet)
            hold()
    return real_write(path, half)
outputs.atomic_write = atomic_write

real_named = outputs.atomic_write_named  # how the CSVs are written (polars writes the temp file by name)
def atomic_write_named(path, write):
    if point != "write" or path.name != HELD:
        return real_named(path, write)
    def half(name):
        write(name)
        data = Path(name).read_bytes()
        Path(name).write_bytes(data[: len(data) // 2])
        if staged.wait(300):  # the history's rows are in the file (not counted yet)
            hold()
    return real_named(path, half)
outputs.atomic_write_named = atomic_write_named

real_exchange = outdir._exchange
def exchange(stage, out):
    done = real_exchange(stage, out)
    if point == "swapped" and done:  # the outputs are in place, the run not yet counted
        hold()
    return done
outdir._exchange = exchange

real_link = linking.link_files  # (`link` links one file through it too)
def link_files(*args, **kwargs):
    result = real_link(*args, **kwargs)
    if point == "compute":
        hold()
    return result
linking.link_files = link_files

from fanpin_cli.cli import main
sys.argv = ["fanpin", *sys.argv[4:]]
main()
"""


@dataclass
class Month1:
    """A county after month 1, as its history read and its output folder held then."""

    root: Path
    households: list[str]  # whose timelines are compared
    history: dict[str, object]  # `_history_as_read` before month 2
    runs: pl.DataFrame
    files: dict[str, str]


@pytest.fixture(scope="module")
def month1(tmp_path_factory: pytest.TempPathFactory) -> Month1:
    """A county after month 1 (run into `out/`), with villages' answers imported: one flag
    不属实, one review item 是同一人 (so month 2's view has verdicts, an exemption and a
    confirmed pair), and a clerk's own file in the output folder."""
    root = tmp_path_factory.mktemp("month1")
    generate_months(100, 11, root / "county", 2)
    config = root / "county" / f"fanpin-{MONTH1}.toml"
    done = runner.invoke(app, ["run", str(config), "--out", str(root / "out"), "-q"])
    assert done.exit_code == 0, done.output
    flags = pl.read_csv(root / "out" / "flags.csv", infer_schema_length=0)
    review = pl.read_csv(root / "out" / "review.csv", infer_schema_length=0)
    answered = flags.filter(pl.col("rule_id") == "MED_UNINSURED").head(1)
    other = flags.filter(pl.col("rule_id") != "MED_UNINSURED").head(1)
    assert answered.height == other.height == 1 and review.height
    answers = {answered["record_key"][0]: ("不属实", None), review["record_key"][0]: ("是同一人", None)}
    assert answer_workbook(root / "out" / "report.xlsx", root / "answers.xlsx", answers) == set(answers)
    fb = runner.invoke(app, ["feedback", str(config), str(root / "answers.xlsx"), "--date", "2026-12-05"])
    assert fb.exit_code == 0 and "新保存核实结果 2 条" in fb.output, fb.output
    (root / "out" / "mine.txt").write_text("a clerk's own notes", encoding="utf-8")
    households = sorted({answered["household_id"][0], other["household_id"][0], review["household_id"][0]})
    config2 = root / "county" / f"fanpin-{MONTH2}.toml"
    history = _history_as_read(config2, households)
    for name in (*(f"timeline {h}" for h in households), f"view {MONTH2} verdicts", f"view {MONTH2} confirmed_pairs",
                 f"view {MONTH2} previous_flags", f"view {MONTH2} first_flagged", "feedback records"):
        assert history[name][1], f"{name} is empty: comparing it would show nothing"
    return Month1(root, households, history,
                  list_runs(root / "county" / HISTORY, load_config(config2).county), _files(root / "out"))


@pytest.fixture
def county(month1: Month1, tmp_path: Path) -> Path:
    """A copy of the month-1 county (its history inside) and its output folder for one test."""
    shutil.copytree(month1.root / "county", tmp_path / "county")
    shutil.copytree(month1.root / "out", tmp_path / "out")
    return tmp_path


def _canon(frame: pl.DataFrame) -> tuple:
    """A frame as a comparable value: columns, dtypes and its rows in a fixed order (the
    readers' queries leave the order of equal rows open)."""
    return tuple(frame.schema.items()), sorted(map(repr, frame.rows()))


def _history_as_read(config: Path, households: list[str]) -> dict[str, object]:
    """The history as its readers see it: `fanpin history` (the runs, and households'
    timelines), the records `fanpin feedback` matches answers to, and the views a run of
    month 1 again or of month 2 opens (previous flags, first flagged, verdicts, pairs)."""
    cfg = load_config(config)
    path = config.parent / HISTORY
    state: dict[str, object] = {"runs": _canon(list_runs(path, cfg.county))}
    for hid in households:
        state[f"timeline {hid}"] = _canon(timeline(path, cfg.county, household=hid))
    with connect(path, read_only=True) as con:
        state["feedback records"] = _canon(_known_records(con, cfg.county))
    shown = runner.invoke(app, ["history", str(config)])
    assert shown.exit_code == 0, shown.output
    state["history command"] = shown.output
    for period in (MONTH1, MONTH2):
        view = load_view(path, cfg.county, period)
        for f in fields(view):
            value = getattr(view, f.name)
            state[f"view {period} {f.name}"] = _canon(value) if isinstance(value, pl.DataFrame) else value
    return state


def _assert_same(after: dict[str, object], before: dict[str, object]) -> None:
    assert after.keys() == before.keys()
    for name, value in before.items():
        assert after[name] == value, f"{name} reads differently after the killed run"


def _files(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too) with its digest."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _group_alive(pgid: int) -> list[int]:
    """Processes of group `pgid` still running (zombies do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            alive.append(int(stat.parent.name))
    return alive


SHM = Path("/dev/shm")


def _semaphores() -> set[Path]:
    """multiprocessing's named semaphores (Linux: files in /dev/shm)."""
    return set(SHM.glob("sem.mp-*")) if SHM.is_dir() else set()


def _run_killed(point: str, config: Path, out: Path, ready: Path) -> None:
    """Start `fanpin run` held at `point`, wait until it is there, SIGKILL its process group and
    wait until every process of it is gone. The wrapper imports polars before the command starts
    its report process, which is then spawned: its queues' named semaphores are left behind by
    the kill (the resource tracker that removes them is of the group): removed here."""
    before = _semaphores()
    log = ready.with_suffix(".stderr")
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", WRAPPER, point, str(ready), HELD, "run", str(config),
                                 "--out", str(out), "-q"],
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), f"the run did not reach {point!r}: {log.read_text(errors='replace')[-2000:]}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended by itself (the assertion above says why)
            pass
        proc.wait()
    deadline = time.monotonic() + 30
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group_alive(proc.pid), "a process of the killed run still runs"
    assert proc.returncode == -signal.SIGKILL
    for left in _semaphores() - before:
        left.unlink(missing_ok=True)


def _staged(config: Path) -> dict[int, dict[str, int]]:
    """Run ids listed in `staged_runs`, each with its rows per run table (read-only)."""
    with connect(config.parent / HISTORY, read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT run_id FROM staged_runs").fetchall()]
        return {i: {t: con.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [i]).fetchone()[0]
                    for t in RUN_TABLES} for i in ids}


def _unnamed_rows(history: Path) -> dict[str, int]:
    """Rows per run table under a run_id that no `runs` row names (read-only)."""
    with connect(history, read_only=True) as con:
        return {t: n for t in RUN_TABLES if (n := con.execute(
            f"SELECT count(*) FROM {t} WHERE run_id NOT IN (SELECT run_id FROM runs)").fetchone()[0])}


def test_run_killed_while_writing_outputs_leaves_history_and_outputs_as_before(month1: Month1, county: Path) -> None:
    config2 = county / "county" / f"fanpin-{MONTH2}.toml"
    out, history = county / "out", county / "county" / HISTORY
    assert _staged(config2) == {} and _files(out) == month1.files

    # Month 2 into the same folder, killed with a CSV half-written into its staging folder and
    # the history's rows staged (written into the file under a run_id no `runs` row names).
    _run_killed("write", config2, out, county / "held")
    stages = list(county.glob(f".out{STAGE_MARK}*"))
    assert len(stages) == 1 and (stages[0] / "links.csv").is_file()
    half = list(stages[0].glob(f".{HELD}.*.tmp"))
    assert len(half) == 1 and half[0].stat().st_size > 0  # the kill landed while the outputs were written
    staged = _staged(config2)
    assert len(staged) == 1, "the killed run's rows were not staged: the kill landed elsewhere"
    (killed_id, rows), = staged.items()
    assert rows["links"] > 0 and rows["flags"] > 0

    # The history reads as after month 1 (the first to open it for writing, here `fanpin
    # history`, removes the killed run's rows); the folder holds month 1's outputs, nothing else.
    _assert_same(_history_as_read(config2, month1.households), month1.history)
    assert _files(out) == month1.files
    assert _staged(config2) == {} and _unnamed_rows(history) == {}

    # The next run succeeds and removes the rest of what the killed one left.
    done = runner.invoke(app, ["run", str(config2), "--out", str(out), "-q"])
    assert done.exit_code == 0, done.output
    assert _staged(config2) == {} and _unnamed_rows(history) == {}
    with connect(history, read_only=True) as con:
        for table in (*RUN_TABLES, "runs"):
            left = con.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", [killed_id]).fetchone()[0]
            assert left == 0, f"{table} still holds rows of the killed run"
    assert not list(county.glob(f".out{STAGE_MARK}*")) and not list(out.rglob("*.tmp"))
    # The history holds month 1, unchanged, and this run.
    runs = list_runs(history, load_config(config2).county)
    assert runs["period"].to_list() == [MONTH2, MONTH1]
    assert _canon(runs.filter(pl.col("period") == MONTH1)) == _canon(month1.runs)
    view = load_view(history, load_config(config2).county, MONTH2)  # month 1 as month 2 sees it
    for f in fields(view):
        value = getattr(view, f.name)
        assert (_canon(value) if isinstance(value, pl.DataFrame) else value) == month1.history[f"view {MONTH2} {f.name}"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["period"] == MONTH2 and summary["history"]["confirmed_links"] >= 1
    assert (out / "mine.txt").read_text(encoding="utf-8") == "a clerk's own notes"


def test_run_killed_while_computing_leaves_history_and_outputs_as_before(month1: Month1, county: Path) -> None:
    config2 = county / "county" / f"fanpin-{MONTH2}.toml"
    _run_killed("compute", config2, county / "out", county / "held")  # after linking its first file
    _assert_same(_history_as_read(config2, month1.households), month1.history)
    assert _files(county / "out") == month1.files
    assert _staged(config2) == {} and _unnamed_rows(county / "county" / HISTORY) == {}


def test_run_killed_once_its_outputs_are_in_place_counts_in_the_history(month1: Month1, county: Path) -> None:
    # Killed right after its staging folder was swapped in as the output folder, before the
    # `runs` row was added: the outputs are month 2's, whole; the history must not go on
    # saying month 1 (the villages answer month 2's lists; month 3 compares with month 2).
    config2 = county / "county" / f"fanpin-{MONTH2}.toml"
    out, history = county / "out", county / "county" / HISTORY
    _run_killed("swapped", config2, out, county / "held")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["period"] == MONTH2 and not list(out.rglob("*.tmp"))
    assert (out / "mine.txt").read_text(encoding="utf-8") == "a clerk's own notes"
    flags2 = pl.read_csv(out / "flags.csv", infer_schema_length=0)

    # The next command that opens the history (here `fanpin history`) finds month 2 recorded.
    shown = runner.invoke(app, ["history", str(config2)])
    assert shown.exit_code == 0, shown.output
    county_name = load_config(config2).county
    runs = list_runs(history, county_name)
    assert runs["period"].to_list() == [MONTH2, MONTH1]
    assert runs.filter(pl.col("period") == MONTH2)["flags"].item() == flags2.height
    assert _canon(runs.filter(pl.col("period") == MONTH1)) == _canon(month1.runs)
    assert _staged(config2) == {} and _unnamed_rows(history) == {}
    month3 = load_view(history, county_name, "2027-01")
    assert month3.previous_period == MONTH2
    assert sorted(month3.previous_flags["record_key"]) == sorted(flags2["record_key"])
    view = load_view(history, county_name, MONTH2)  # month 1 as before
    for f in fields(view):
        value = getattr(view, f.name)
        assert (_canon(value) if isinstance(value, pl.DataFrame) else value) == month1.history[f"view {MONTH2} {f.name}"]
