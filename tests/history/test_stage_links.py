"""A small county's links are staged into the history while its rules are evaluated
(`HistoryRun.stage_links`, `pipeline._compute_and_write`'s `on_links`), the rest of the run
added beside its outputs (`PendingRun.add`): the same history, month after month, as a run
staged in one piece; a run that fails after its links were staged leaves the history as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.history.runner import HistoryRun
from fanpin_cli.synth.months import generate_months

runner = CliRunner()
PERIODS = ("2026-11", "2026-12")
REAL_STAGE_LINKS, REAL_RECORD = HistoryRun.stage_links, HistoryRun.record
VARYING = {"recorded_at", "out_dir"}  # the runs row's time and folder differ between any two runs


def _run(config: Path, out: Path, *extra: str) -> None:
    result = runner.invoke(app, ["run", str(config), "--out", str(out), "-q", "--split", "none", *extra])
    assert result.exit_code == 0, result.output


def _tables(db: Path) -> dict[str, list[str]]:
    """Every table's rows (sorted, as text), the runs rows without their time and folder."""
    out: dict[str, list[str]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for (table,) in con.execute("SHOW TABLES").fetchall():
            cursor = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            keep = [i for i, n in enumerate(names) if not (table == "runs" and n in VARYING)]
            out[table] = sorted(repr(tuple(row[i] for i in keep)) for row in cursor.fetchall())
    return out


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two months of a synthetic county, with its key (every copy hashes the same)."""
    folder = tmp_path_factory.mktemp("months") / "county"
    generate_months(120, 5, folder, len(PERIODS))
    (folder / "fanpin.key").write_bytes(b"k" * 32)
    return folder


def _months(county: Path, root: Path, staged_early: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list[int]]:
    """The two months run into a fresh history (a copy of `county` in `root`); the history's
    tables and the links staged early (their rows, per month)."""
    county = Path(shutil.copytree(county, root / "county"))
    early: list[int] = []
    real, real_record = REAL_STAGE_LINKS, REAL_RECORD  # (not the class's now: patched by a run before)

    def stage_links(self, config, links, persons):
        if not staged_early:
            raise RuntimeError("links not staged early")  # the run then staged in one piece, before the swap
        staged = real(self, config, links, persons)
        early.append(links.height)
        return staged

    recorded: list[bool] = []

    def record(self, config, artifacts, out_dir, *, pending=None):
        recorded.append(pending is not None)  # staged before the swap (never written only after it)
        return real_record(self, config, artifacts, out_dir, pending=pending)

    monkeypatch.setattr(HistoryRun, "stage_links", stage_links)
    monkeypatch.setattr(HistoryRun, "record", record)
    for period in PERIODS:
        _run(county / f"fanpin-{period}.toml", root / "out" / period)
    # every month's rows staged before its outputs were swapped in: in two parts, links first, or
    # (the links' staging failed) in one piece
    assert recorded == [True] * len(PERIODS)
    db = next(county.glob("*.duckdb"))
    return _tables(db), early


def test_links_staged_early_make_the_same_history_month_after_month(county, tmp_path, monkeypatch) -> None:
    whole, none_early = _months(county, tmp_path / "whole", False, monkeypatch)
    split, early = _months(county, tmp_path / "split", True, monkeypatch)
    assert none_early == [] and len(early) == len(PERIODS) and all(early)
    assert whole["links"] and whole["flags"]
    assert split == whole


def _rules_fail_once_links_are_staged(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The run's rules fail once its links are staged into the history; returns the runs staged."""
    staged: list[object] = []
    real = REAL_STAGE_LINKS

    def stage_links(self, config, links, persons):
        staged.append(real(self, config, links, persons))
        return staged[-1]

    def evaluate(*args, **kwargs):
        import time

        deadline = time.monotonic() + 60
        while not staged and time.monotonic() < deadline:
            time.sleep(0.02)
        raise RuntimeError("a rule failed")

    import fanpin_cli.flagging.engine as engine

    monkeypatch.setattr(HistoryRun, "stage_links", stage_links)
    monkeypatch.setattr(engine, "evaluate", evaluate)
    monkeypatch.setattr("fanpin_cli.flagging.evaluate", evaluate)
    return staged


def test_a_run_failing_after_its_links_were_staged_leaves_the_history_as_it_was(county, tmp_path,
                                                                                 monkeypatch) -> None:
    county = Path(shutil.copytree(county, tmp_path / "county"))
    _run(county / f"fanpin-{PERIODS[0]}.toml", tmp_path / "out" / PERIODS[0])
    db = next(county.glob("*.duckdb"))
    before = _tables(db)

    staged = _rules_fail_once_links_are_staged(monkeypatch)
    result = runner.invoke(app, ["run", str(county / f"fanpin-{PERIODS[1]}.toml"), "--out",
                                 str(tmp_path / "out" / PERIODS[1]), "-q", "--split", "none"])
    assert result.exit_code != 0 and "RuntimeError" in result.output
    assert len(staged) == 1  # the links were in the history, staged, before the rules failed
    assert _tables(db) == before  # dropped: nothing of the failed month, the month before untouched


def test_a_first_month_failing_after_its_links_were_staged_leaves_no_history_file(county, tmp_path,
                                                                                  monkeypatch) -> None:
    # The links made the history file (the county had none); the run failed: the file goes
    # with its rows, and the next run is the county's first month again.
    county = Path(shutil.copytree(county, tmp_path / "county"))
    staged = _rules_fail_once_links_are_staged(monkeypatch)
    config = county / f"fanpin-{PERIODS[0]}.toml"
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out"), "-q", "--split", "none"])
    assert result.exit_code != 0 and "RuntimeError" in result.output
    assert len(staged) == 1  # the history file existed, with the month's links, before the rules failed
    assert not list(county.glob("*.duckdb*"))
    monkeypatch.undo()
    _run(config, tmp_path / "again")  # the next run makes the history anew: its first month
    assert _tables(next(county.glob("*.duckdb")))["runs"]


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fails", ["staging", "ready"])
def test_a_month_the_history_cannot_take_leaves_outputs_and_history_as_they_were(county, tmp_path, monkeypatch,
                                                                                 fails: str) -> None:
    # The history cannot take the month (busy, full, not writable): staging it beside the outputs
    # fails, and again before the swap (or the run cannot be marked ready): the run stops with a
    # Chinese message; the output folder keeps the month before, the history counts only it.
    from fanpin_cli.history.store import HistoryBusyError, PendingRun

    county = Path(shutil.copytree(county, tmp_path / "county"))
    out = tmp_path / "out"
    _run(county / f"fanpin-{PERIODS[0]}.toml", out)
    db = next(county.glob("*.duckdb"))
    before, outputs = _tables(db), _outputs(out)

    if fails == "staging":
        def stage(self, config, artifacts, out_dir, *, links=None):
            if links is not None:
                links.rollback()
            raise HistoryBusyError("历史记录文件正被另一个 fanpin 进程使用", file=str(db))

        monkeypatch.setattr(HistoryRun, "stage", stage)
    else:
        monkeypatch.setattr(PendingRun, "ready", lambda self, summary, out_dir: False)
    result = runner.invoke(app, ["run", str(county / f"fanpin-{PERIODS[1]}.toml"), "--out", str(out), "-q",
                                 "--split", "none"])
    assert result.exit_code == 1, result.output
    assert ("正被另一个 fanpin 进程使用" if fails == "staging" else "无法在历史记录中登记本次运行") in result.output
    assert _outputs(out) == outputs
    monkeypatch.undo()
    assert _tables(db) == before


def test_a_month_staged_only_before_the_swap_counts_once(county, tmp_path, monkeypatch) -> None:
    # Staging beside the outputs failed once (the history was busy then): the month is staged
    # again before the swap and counted once, as a month staged beside them.
    from fanpin_cli.history.store import HistoryBusyError

    real_stage = HistoryRun.stage
    calls: list[bool] = []

    def stage(self, config, artifacts, out_dir, *, links=None):
        calls.append(links is not None)
        if len(calls) == 1:
            if links is not None:
                links.rollback()
            raise HistoryBusyError("历史记录文件正被另一个 fanpin 进程使用")
        return real_stage(self, config, artifacts, out_dir, links=links)

    whole = Path(shutil.copytree(county, tmp_path / "whole"))
    _run(whole / f"fanpin-{PERIODS[0]}.toml", tmp_path / "out-whole")
    county = Path(shutil.copytree(county, tmp_path / "county"))
    monkeypatch.setattr(HistoryRun, "stage", stage)
    _run(county / f"fanpin-{PERIODS[0]}.toml", tmp_path / "out")
    assert len(calls) == 2 and calls[1] is False  # the second time in one piece, before the swap
    assert (tmp_path / "out" / "summary.json").exists()
    assert _tables(next(county.glob("*.duckdb"))) == _tables(next(whole.glob("*.duckdb")))


def test_ids_typed_into_names_or_feedback_never_reach_the_history_or_its_reports(county, tmp_path, monkeypatch):
    # An ID typed as a name (roster), and in a village's 整改情况 / 核实结果 / 记录编号: the history
    # stores them masked, as the outputs show them, and `feedback` lists them masked.
    import openpyxl

    from fanpin_cli.synth import generate_county

    folder = tmp_path / "c"
    generate_county(40, 5, folder)
    book = openpyxl.load_workbook(folder / "监测对象信息.xlsx")
    sheet = book.active
    header = [c.value for c in sheet[3]]
    sheet.cell(4, header.index("姓名") + 1).value = "433127195101021072"
    book.save(folder / "监测对象信息.xlsx")
    _run(folder / "fanpin.toml", tmp_path / "out")
    returned = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx")
    ws = next(ws for ws in returned.worksheets if any("记录编号" == (c.value or "") for c in ws[2] + ws[1]))
    head = next(r for r in (1, 2) if any(c.value == "记录编号" for c in ws[r]))
    titles = [c.value for c in ws[head]]
    ws.cell(head + 1, titles.index("整改情况") + 1).value = "身份证433127196002021238已核实"
    ws.cell(head + 2, titles.index("记录编号") + 1).value = "433127196003031233"
    returned.save(tmp_path / "返回.xlsx")
    result = runner.invoke(app, ["feedback", str(folder / "fanpin.toml"), str(tmp_path / "返回.xlsx")])
    assert result.exit_code == 0, result.output
    shown = result.output + (folder / "feedback-report.csv").read_text(encoding="utf-8")
    db = next(folder.glob("*.duckdb"))
    stored = "\n".join("\n".join(rows) for rows in _tables(db).values())
    for full in ("433127195101021072", "433127196002021238", "433127196003031233"):
        assert full not in stored and full not in shown
    assert "433127***********2" in stored  # the name, masked, kept
