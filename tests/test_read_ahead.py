"""Input files read by report.xlsx's process for the run (`BackgroundReport.read_ahead`,
`pipeline._reads_ahead`): the same LoadedFile as read in the run's own process, none where the
process cannot read one (the run reads it and says why, as always), and a run that takes its
roster from there has the same results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path

import polars as pl
import pytest
from test_report_background import _cells, _data, _split

from fanpin_cli import pipeline
from fanpin_cli.config import InputSpec, load_config
from fanpin_cli.errors import InputFileError
from fanpin_cli.launch import order_reads
from fanpin_cli.loaders import LoadedFile, load_input
from fanpin_cli.report import background, write_report
from fanpin_cli.report.background import prestart_report, start_report
from fanpin_cli.resources import resource_dir

KEY = b"k" * 32  # both runs compared hash under one key (without one each run draws its own)

OFFICE = Path(__file__).parent / "fixtures" / "office"
SAMPLE = resource_dir("sample_data")


def _same(a: LoadedFile, b: LoadedFile) -> None:
    for f in fields(LoadedFile):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pl.DataFrame):
            assert x.equals(y, null_equal=True), f.name
            assert x.schema == y.schema, f.name
        else:
            assert x == y, f.name


@pytest.fixture
def process():
    started = prestart_report()
    assert started is not None
    yield started
    started.abort()


# real-shaped files: the sample roster (.xlsx), LibreOffice's re-save (IDs as numbers), a GBK CSV
FILES = [
    (SAMPLE / "监测对象信息.xlsx", "roster"),
    (OFFICE / "医保_参保登记.xlsx", "medical_enrollment"),
    (OFFICE / "医保_参保登记.csv", "medical_enrollment"),
]


def test_files_read_by_the_process_are_the_files_read_here(process) -> None:
    specs = [InputSpec(sector, path, path.name) for path, sector in FILES]
    take = process.read_ahead(specs)
    for i in (1, 0, 2):  # taken in any order: the answers come in order and wait for their taker
        _same(take(i), load_input(specs[i]))
    assert take(0) is None  # each is given once (the process holds nothing of it)


def test_a_file_the_process_cannot_read_is_read_here_and_its_error_said_as_always(process, tmp_path) -> None:
    broken = tmp_path / "监测对象信息.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    good = InputSpec("roster", SAMPLE / "监测对象信息.xlsx", "监测对象信息.xlsx")
    bad = InputSpec("roster", broken, broken.name)
    take = process.read_ahead([bad, good])
    assert take(0) is None
    with pytest.raises(InputFileError) as here:
        load_input(bad)
    with pytest.raises(InputFileError) as run:
        pipeline._read(bad, lambda spec: take(0))
    assert str(run.value) == str(here.value) and "监测对象信息.xlsx" in str(run.value)
    _same(take(1), load_input(good))  # the process went on to the next file


def test_a_process_that_has_ended_answers_none(process) -> None:
    process._process.kill()
    process._process.join(timeout=30)
    take = process.read_ahead([InputSpec("roster", SAMPLE / "监测对象信息.xlsx", "监测对象信息.xlsx")])
    assert take(0) is None


def test_a_run_taking_its_small_files_from_the_process_has_the_same_results(process, monkeypatch) -> None:
    config = load_config(SAMPLE / "fanpin.toml")
    here = pipeline.compute(config, key=KEY)
    read_here: list[str] = []

    def recorded(spec: InputSpec) -> LoadedFile:
        read_here.append(spec.source_file)
        return load_input(spec)

    monkeypatch.setattr(pipeline, "load_input", recorded)
    # the sample's extracts are all small: one of them counted as big here, read by the run
    monkeypatch.setattr(pipeline, "LINK_TOGETHER_BYTES", 200_000)
    big = [spec.source_file for spec in config.extracts if spec.path.stat().st_size >= 200_000]
    assert big and len(big) < len(config.extracts)
    ahead = pipeline._reads_ahead(config, process)
    assert ahead is not None
    there = pipeline.compute(config, read_ahead=ahead, key=KEY)
    assert sorted(read_here) == sorted(big)  # the roster and the small extracts: read by the process
    for name in ("links", "flags", "issues", "review"):
        assert getattr(there, name).equals(getattr(here, name), null_equal=True), name
    assert [i.to_dict() for i in there.summary.inputs] == [i.to_dict() for i in here.summary.inputs]


def test_a_run_takes_the_files_its_commands_first_step_ordered_and_orders_nothing_more(process, monkeypatch) -> None:
    # `fanpin run` orders them before it has parsed its command line (`launch.order_reads`)
    config = load_config(SAMPLE / "fanpin.toml")
    here = pipeline.compute(config, key=KEY)
    order_reads(SAMPLE / "fanpin.toml", process)
    ordered = process.ordered
    read_here: list[str] = []
    monkeypatch.setattr(pipeline, "load_input", lambda spec: read_here.append(spec.source_file) or load_input(spec))
    ahead = pipeline._reads_ahead(config, process)
    assert process.ordered is ordered  # no second order: a process answers one
    there = pipeline.compute(config, read_ahead=ahead, key=KEY)
    assert read_here == []  # the sample's roster and extracts: all read by the process
    for name in ("links", "flags", "issues", "review"):
        assert getattr(there, name).equals(getattr(here, name), null_equal=True), name


def test_an_order_for_other_files_is_dropped_and_the_workbook_is_written_all_the_same(process, tmp_path) -> None:
    # the config changed between the command's first step and the run (or named other files):
    # the run reads every file itself, and the process, maybe blocked sending the first file
    # ordered, goes on to the workbook
    big = InputSpec("medical_enrollment", SAMPLE / "医保_参保登记.csv", "医保_参保登记.csv")
    process.read_ahead([big] * 6)  # more than the pipe holds: the process waits to send
    config = load_config(SAMPLE / "fanpin.toml")
    assert pipeline._reads_ahead(config, process) is None
    data = _data()
    write_report(tmp_path / "direct.xlsx", data)
    first, rest = _split(data)
    report = start_report(tmp_path / "report.xlsx", first, process)
    report.finish(**rest)
    assert _cells(tmp_path / "report.xlsx") == _cells(tmp_path / "direct.xlsx")


def test_a_big_county_asks_for_no_file_and_its_workbook_is_written_all_the_same(process, tmp_path, monkeypatch) -> None:
    config = load_config(SAMPLE / "fanpin.toml")
    monkeypatch.setattr(pipeline, "LINK_APART_BYTES", 0)  # every file counts as big
    assert pipeline._reads_ahead(config, process) is None  # the order said: nothing to read
    data = _data()
    write_report(tmp_path / "direct.xlsx", data)
    first, rest = _split(data)
    report = start_report(tmp_path / "report.xlsx", first, process)
    assert report is process
    report.finish(**rest)
    assert _cells(tmp_path / "report.xlsx") == _cells(tmp_path / "direct.xlsx")


def test_a_run_failing_before_it_takes_its_roster_ends_the_process_at_once(process) -> None:
    # the roster is read for the run, which then fails (e.g. a bad rule file) and never takes
    # it: the process, blocked sending it, must not hold the run's end for `abort`'s 30 s
    import time

    big = InputSpec("medical_enrollment", SAMPLE / "医保_参保登记.csv", "医保_参保登记.csv")
    process.read_ahead([big, big, big])  # more than the pipe holds: the process waits to send
    time.sleep(5)  # read and waiting to be taken
    started = time.monotonic()
    process.abort()
    assert time.monotonic() - started < 10
    assert not process._process.is_alive()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_a_forked_process_blocked_sending_a_file_ends_at_once_too() -> None:
    # As `fanpin run` starts it (forked before polars is imported): the child holds a copy of
    # every descriptor the parent had, its end of the reads' pipe included unless closed there
    script = textwrap.dedent("""
        import sys, time
        from fanpin_cli.report.background import prestart_report, start_method
        method, heavy = start_method(), "polars" in sys.modules
        process = prestart_report()
        from fanpin_cli.config import InputSpec
        from fanpin_cli.resources import resource_dir
        big = InputSpec("medical_enrollment", resource_dir("sample_data") / "医保_参保登记.csv", "医保_参保登记.csv")
        process.read_ahead([big] * 6)  # more than the pipe holds
        time.sleep(5)
        started = time.monotonic()
        process.abort()
        print(method, heavy, round(time.monotonic() - started, 1), process._process.is_alive())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    method, heavy, seconds, alive = done.stdout.split()
    assert (method, heavy, alive) == ("fork", "False", "False")
    assert float(seconds) < 10


class _Inbox:
    """An inbox whose first order comes after `waiting` checks found it empty (None: never)."""

    def __init__(self, waiting: int | None) -> None:
        self.waiting, self.checks = waiting, 0

    def empty(self) -> bool:
        self.checks += 1
        return self.waiting is None or self.checks <= self.waiting


@pytest.mark.parametrize(("waiting", "imported"), [
    (None, ["a", "b", "c"]),  # no order while it imports: every module
    (0, []),  # an order already there: answered first, nothing imported before it
    (1, ["a"]),  # the order came during the first import: the others wait
])
def test_a_process_started_ahead_imports_the_workbooks_modules_only_while_no_order_waits(
        monkeypatch, waiting, imported) -> None:
    done: list[str] = []
    monkeypatch.setattr(background, "import_module", done.append)
    background._import_while_waiting(_Inbox(waiting), ("a", "b", "c"))
    assert done == imported


def test_a_process_started_ahead_has_the_workbooks_modules_before_its_first_order(tmp_path) -> None:
    # The run's first order comes once the run has started (its own imports, its config): the
    # process that waited for it holds the workbook's modules by then, imported meanwhile.
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent("""
        import sys
        from fanpin_cli.report import background
        original = background._answer_reads
        def answer(inbox, reads):
            given = original(inbox, reads)
            print(sorted((m, m in sys.modules) for m in background._WORKBOOK_MODULES), flush=True)
            return given
        background._answer_reads = answer
        """), encoding="utf-8")
    script = textwrap.dedent("""
        import time
        from fanpin_cli.report.background import prestart_report
        process = prestart_report()
        time.sleep(3)  # the run's own start
        process.read_ahead([])
        time.sleep(1)
        process.abort()
        """)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip() == str(sorted((m, True) for m in background._WORKBOOK_MODULES)), out.stderr
