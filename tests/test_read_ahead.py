"""Input files read by report.xlsx's process for the run (`BackgroundReport.read_ahead`,
`pipeline._reads_ahead`): the same LoadedFile as read in the run's own process, none where the
process cannot read one (the run reads it and says why, as always), and a run that takes its
roster from there has the same results."""

from __future__ import annotations

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
from fanpin_cli.loaders import LoadedFile, load_input
from fanpin_cli.report import write_report
from fanpin_cli.report.background import prestart_report, start_report
from fanpin_cli.resources import resource_dir

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
    here = pipeline.compute(config)
    read_here: list[str] = []

    def recorded(spec: InputSpec) -> LoadedFile:
        read_here.append(spec.source_file)
        return load_input(spec)

    monkeypatch.setattr(pipeline, "load_input", recorded)
    # the sample's extracts are all small: one of them counted as big here, read by the run
    monkeypatch.setattr(pipeline, "LINK_TOGETHER_BYTES", 200_000)
    big = [spec.source_file for spec in config.extracts if spec.path.stat().st_size >= 200_000]
    assert big and len(big) < len(config.extracts)
    ahead = pipeline._reads_ahead(config, process, small=True)
    assert ahead is not None
    there = pipeline.compute(config, read_ahead=ahead)
    assert sorted(read_here) == sorted(big)  # the roster and the small extracts: read by the process
    for name in ("links", "flags", "issues", "review"):
        assert getattr(there, name).equals(getattr(here, name), null_equal=True), name
    assert [i.to_dict() for i in there.summary.inputs] == [i.to_dict() for i in here.summary.inputs]


def test_a_big_county_asks_for_no_file_and_its_workbook_is_written_all_the_same(process, tmp_path) -> None:
    config = load_config(SAMPLE / "fanpin.toml")
    assert pipeline._reads_ahead(config, process, small=False) is None  # the order said: nothing to read
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
