"""report.xlsx written by a child process in two phases gives the same workbook, and fails or
aborts cleanly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from test_report import _data

from fanpin_cli.errors import FanpinError, InternalError
from fanpin_cli.report import write_report
from fanpin_cli.report.background import BackgroundReport

LATE = ("quality", "quality_detail", "scorecard", "stocktake", "links_by_sector")


def _split(data):
    first = replace(data, quality=pl.DataFrame(), quality_detail=None, scorecard=None, stocktake=None,
                    links_by_sector=None)
    return first, {k: getattr(data, k) for k in LATE}


def _cells(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def test_background_workbook_equals_direct_one(tmp_path):
    data = _data()
    write_report(tmp_path / "direct.xlsx", data)
    first, rest = _split(data)
    report = BackgroundReport(tmp_path / "report.xlsx", first)
    peak = report.finish(**rest)
    assert _cells(tmp_path / "report.xlsx") == _cells(tmp_path / "direct.xlsx")
    assert peak >= 0
    assert not list(tmp_path.glob(".*.tmp"))


def test_abort_leaves_nothing(tmp_path):
    first, _ = _split(_data())
    report = BackgroundReport(tmp_path / "report.xlsx", first)
    report.abort()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_a_fanpin_error(tmp_path):
    first, rest = _split(_data())
    report = BackgroundReport(tmp_path / "no-such-folder" / "report.xlsx", first)
    with pytest.raises(FanpinError) as err:
        report.finish(**rest)
    assert "report.xlsx" in str(err.value)


def test_inline_fallback_writes_the_same_workbook(tmp_path):
    from fanpin_cli.report.background import InlineReport

    data = _data()
    write_report(tmp_path / "direct.xlsx", data)
    first, rest = _split(data)
    InlineReport(tmp_path / "report.xlsx", first).finish(**rest)
    assert _cells(tmp_path / "report.xlsx") == _cells(tmp_path / "direct.xlsx")


def test_background_area_workbooks_equal_direct_ones(tmp_path):
    """The parent writes the 乡镇 workbooks while the child writes report.xlsx: same files as
    when one process writes everything."""
    data = replace(_data(), split="township")
    (tmp_path / "direct").mkdir()
    write_report(tmp_path / "direct" / "report.xlsx", data)
    (tmp_path / "bg").mkdir()
    first, rest = _split(data)
    BackgroundReport(tmp_path / "bg" / "report.xlsx", first).finish(**rest)
    direct = sorted(p.relative_to(tmp_path / "direct") for p in (tmp_path / "direct").rglob("*.xlsx"))
    background = sorted(p.relative_to(tmp_path / "bg") for p in (tmp_path / "bg").rglob("*.xlsx"))
    assert len(direct) > 1 and background == direct
    for rel in direct:
        assert _cells(tmp_path / "bg" / rel) == _cells(tmp_path / "direct" / rel)
    assert not list((tmp_path / "bg").glob(".*"))


def test_streamed_rows_wait_beside_the_workbook_not_in_the_system_temp_folder(tmp_path, monkeypatch):
    # constant_memory streams each sheet's rows into a temp file until a large workbook closes:
    # they belong in the run's (staging) folder, which a failed run removes, not in /tmp.
    import tempfile

    from fanpin_cli.report import memrows
    from fanpin_cli.report.writer import ReportWriter

    monkeypatch.setattr(memrows, "SMALL_ROWS", 0)  # every workbook counts as large

    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    out = tmp_path / "out"
    out.mkdir()
    first, _ = _split(_data())
    writer = ReportWriter(out / "report.xlsx", first)
    try:
        assert list(system_tmp.iterdir()) == []
        assert any(p.name != "report.xlsx" and not p.name.startswith(".report") for p in out.iterdir())
    finally:
        writer.workbook.close()


def test_two_writers_sharing_the_area_numbers_write_every_area_once(tmp_path):
    """The parent and the child take area workbooks from one shared counter: together they
    write each area exactly once, the same files as one writer alone."""
    import itertools

    from fanpin_cli.report.split import write_areas, write_split

    data = _data()
    write_split(tmp_path / "alone", data, "township")
    (tmp_path / "shared").mkdir()
    numbers = itertools.count()
    taken: list[int] = []

    def claim() -> int:
        taken.append(next(numbers))
        return taken[-1]

    a = write_areas(tmp_path / "shared", data, "township", claim)
    b = write_areas(tmp_path / "shared", data, "township", claim)  # finds nothing left
    alone = sorted(p.name for p in (tmp_path / "alone" / "乡镇").iterdir())
    assert a == len(alone) and b == 0 and len(alone) > 1
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == alone
    for name in alone:
        assert _cells(tmp_path / "shared" / name) == _cells(tmp_path / "alone" / "乡镇" / name)


def test_child_takes_area_workbooks_when_it_is_free(tmp_path, monkeypatch):
    """With a parent slow to write its areas, the child writes some of them after report.xlsx;
    the folder is complete and published once."""
    import time

    from fanpin_cli.report import together
    from fanpin_cli.report.writer import write_report as real

    data = replace(_data(), split="township")
    first, rest = _split(data)
    report = BackgroundReport(tmp_path / "report.xlsx", first)
    write_together, by_parent = together.write_together, []

    def slow(paths, datas):  # the parent waits until the child has taken an area too
        deadline = time.monotonic() + 300
        while report._next_area.value <= len(by_parent) + len(paths) and time.monotonic() < deadline:
            time.sleep(0.05)
        by_parent.extend(path.name for path in paths)
        write_together(paths, datas)

    monkeypatch.setattr(together, "write_together", slow)
    report.finish(**rest)
    monkeypatch.undo()
    (tmp_path / "direct").mkdir()
    real(tmp_path / "direct" / "report.xlsx", data)
    names = sorted(p.name for p in (tmp_path / "乡镇").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "direct" / "乡镇").iterdir())
    assert 1 <= len(by_parent) < len(names)  # the child wrote the others
    for name in names:
        assert _cells(tmp_path / "乡镇" / name) == _cells(tmp_path / "direct" / "乡镇" / name)
    assert not list(tmp_path.glob(".*"))


def test_report_child_does_not_import_the_program_that_started_it(tmp_path):
    """A spawned child re-imports the main module unless it is hidden while the child starts
    (the CLI's imports would cost the child ~0.6 s): the script below notes every import of
    itself; only the parent's must be there, and the workbook must still be written."""
    import os
    import subprocess
    import sys

    script = tmp_path / "main_script.py"
    script.write_text(
        "import os, sys\n"
        "with open(os.environ['FANPIN_TEST_MARK'], 'a') as fh:\n"
        "    fh.write(__name__ + '\\n')\n"
        "if __name__ == '__main__':\n"
        f"    sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "    from pathlib import Path\n"
        "    from test_report_background import _data, _split\n"
        "    from fanpin_cli.report.background import BackgroundReport\n"
        "    first, rest = _split(_data())\n"
        "    BackgroundReport(Path(sys.argv[1]) / 'report.xlsx', first).finish(**rest)\n"
        "    print(__file__ == sys.argv[0], __spec__ is None)\n",
        encoding="utf-8",
    )
    mark = tmp_path / "imports.txt"
    (tmp_path / "out").mkdir()
    env = dict(os.environ, FANPIN_TEST_MARK=str(mark))
    res = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True"]  # the main module's names are back afterwards
    assert mark.read_text(encoding="utf-8").split() == ["__main__"]
    assert (tmp_path / "out" / "report.xlsx").is_file()


def test_area_folder_that_cannot_be_made_ends_the_waiting_child(tmp_path, monkeypatch):
    """The 乡镇 folder cannot be made (disk full, permissions): the error reaches the caller and
    the child, which was waiting for the rest of the data, is ended — not left running."""
    from fanpin_cli.report import split

    first, rest = _split(replace(_data(), split="township"))
    report = BackgroundReport(tmp_path / "report.xlsx", first)

    def fail(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(split, "AreaFolder", fail)
    with pytest.raises(OSError):
        report.finish(**rest)
    assert not report._process.is_alive()
    assert not list(tmp_path.glob(".*.tmp"))


def test_parent_failing_on_an_area_leaves_the_child_no_area_to_write(tmp_path, monkeypatch):
    """The main process fails on a 乡镇 workbook: the child is handed no further area (it would
    otherwise write every remaining one before the error is told) and nothing is published."""
    from fanpin_cli.report import split

    first, rest = _split(replace(_data(), split="township"))
    report = BackgroundReport(tmp_path / "report.xlsx", first)

    def fail(*_args, **_kwargs):
        raise FanpinError("乡镇工作簿写入失败")

    monkeypatch.setattr(split, "write_areas", fail)
    with pytest.raises(FanpinError):
        report.finish(**rest)
    assert report._next_area.value >= 1 << 30
    assert not report._process.is_alive()
    assert not [p for p in tmp_path.rglob("*") if p.suffix == ".xlsx" and p.parent != tmp_path]


def test_prestarted_process_given_its_data_later_writes_the_same_workbook(tmp_path):
    from fanpin_cli.report.background import prestart_report, start_report

    data = _data()
    write_report(tmp_path / "direct.xlsx", data)
    first, rest = _split(data)
    ahead = prestart_report(tmp_path / "report.xlsx")
    assert ahead is not None
    assert not (tmp_path / "report.xlsx").exists()  # nothing written before its data come
    report = start_report(tmp_path / "report.xlsx", first, ahead)
    assert report is ahead
    report.finish(**rest)
    assert _cells(tmp_path / "report.xlsx") == _cells(tmp_path / "direct.xlsx")


def test_process_started_before_its_folder_is_known_writes_where_it_is_told(tmp_path):
    # `fanpin run` starts the process before the run's (staging) folder exists: the path
    # comes with the first data.
    from fanpin_cli.report.background import prestart_report, start_report

    data = replace(_data(), split="township")
    (tmp_path / "direct").mkdir()
    write_report(tmp_path / "direct" / "report.xlsx", data)
    first, rest = _split(data)
    ahead = prestart_report()
    assert ahead is not None
    (tmp_path / "bg").mkdir()
    report = start_report(tmp_path / "bg" / "report.xlsx", first, ahead)
    assert report is ahead
    report.finish(**rest)
    direct = sorted(p.relative_to(tmp_path / "direct") for p in (tmp_path / "direct").rglob("*.xlsx"))
    assert len(direct) > 1
    assert sorted(p.relative_to(tmp_path / "bg") for p in (tmp_path / "bg").rglob("*.xlsx")) == direct
    for rel in direct:
        assert _cells(tmp_path / "bg" / rel) == _cells(tmp_path / "direct" / rel)


def test_prestarted_process_that_died_before_its_data_is_replaced(tmp_path):
    """A process started ahead that ended while the run read and linked (killed, out of
    memory) is not handed the data — nobody would read them and the run would wait for its
    workbook until the timeout: a new process writes the same workbook."""
    from fanpin_cli.report.background import prestart_report, start_report

    data = _data()
    write_report(tmp_path / "direct.xlsx", data)
    first, rest = _split(data)
    ahead = prestart_report(tmp_path / "report.xlsx")
    ahead._process.kill()
    ahead._process.join(timeout=30)
    report = start_report(tmp_path / "report.xlsx", first, ahead)
    assert report is not ahead
    report.finish(**rest)
    assert _cells(tmp_path / "report.xlsx") == _cells(tmp_path / "direct.xlsx")


def test_prestarted_process_aborted_before_its_data_ends_and_leaves_nothing(tmp_path):
    from fanpin_cli.report.background import prestart_report

    ahead = prestart_report(tmp_path / "report.xlsx")
    ahead.abort()
    assert not ahead._process.is_alive()
    assert ahead._process.exitcode == 0  # it ended on its own (told by the inbox), not killed
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fails_at", ["读取数据", "写出结果"])
def test_a_run_failing_anywhere_ends_its_report_process(tmp_path, fails_at):
    """The report process starts before the run reads anything; a run that fails before it
    hands the process its data (reading, or between the checks and the writing) ends it, and
    no output appears."""
    import multiprocessing

    from fanpin_cli.config import load_config
    from fanpin_cli.pipeline import run_job
    from fanpin_cli.resources import resource_dir

    def progress(stage: str) -> None:
        if stage == fails_at:
            raise KeyboardInterrupt  # as Ctrl-C there would

    before = set(multiprocessing.active_children())
    with pytest.raises(KeyboardInterrupt):
        run_job(load_config(resource_dir("sample_data") / "fanpin.toml"), tmp_path / "out", split="none",
                history=False, progress=progress)
    assert set(multiprocessing.active_children()) <= before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_report_process_killed_after_its_data_fails_the_run_at_once(tmp_path):
    """A child killed (e.g. out of memory) after it was given its data: `finish` says so as soon
    as the child is gone, instead of waiting for it until the half-hour timeout."""
    import time

    data = _data()
    first, rest = _split(data)
    report = BackgroundReport(tmp_path / "report.xlsx", first)
    report._process.kill()
    report._process.join(timeout=30)
    started = time.monotonic()
    with pytest.raises(InternalError, match="子进程意外结束（被系统终止，常见原因是内存不足）") as failed:
        report.finish(**rest)
    assert failed.value.exit_code == 3 and failed.value.stage == "写出结果"  # not a fault of the data
    assert time.monotonic() - started < 60  # not _TIMEOUT (1800 s)
    assert not (tmp_path / "report.xlsx").exists()


def test_a_bug_in_the_report_process_is_an_internal_error_with_its_traceback(tmp_path):
    """A workbook the report process fails on (a bug, a library's error) fails the run as the same
    failure in the run's own process would: an InternalError of 写出结果 (exit code 3, a crash
    report), whose cause holds the process's traceback (masked there: `crash_details`); never
    a fault of the data."""
    from fanpin_cli.report.background import ReportProcessCrash

    data = _data()
    first, rest = _split(data)
    report = BackgroundReport(tmp_path / "report.xlsx", first)
    with pytest.raises(InternalError) as failed:
        report.finish(**{**rest, "scorecard": 42})  # (not a frame: the writer fails on it)
    error = failed.value
    assert error.exit_code == 3 and error.file == "report.xlsx" and error.stage == "写出结果"
    assert str(error).startswith("report.xlsx（写出结果）：程序内部错误（")
    assert isinstance(error.__cause__, ReportProcessCrash) and "Traceback" in str(error.__cause__)
    assert "report/writer.py" in str(error.__cause__)  # where it failed, in that process
    assert not (tmp_path / "report.xlsx").exists()


def test_the_report_processs_own_os_error_is_said_as_the_runs_writing(tmp_path, monkeypatch):
    """The disk filling up under report.xlsx's process: an OSError in the run (which says it as
    it says its own writing's, `pipeline.write_beside_history`: 写出结果失败：磁盘空间已满)."""
    from fanpin_cli.report.background import failure_of

    error = failure_of("oserror", (28, "No space left on device"), "report.xlsx")
    assert isinstance(error, OSError) and error.errno == 28


@pytest.mark.parametrize(("given", "threads"), [(None, "1"), ("2", "2")])
def test_one_polars_thread_gives_polars_one_thread_unless_the_user_sized_it(
    tmp_path: Path, given: str | None, threads: str
) -> None:
    """`one_polars_thread`, as the workbook's process calls it before it imports polars: one
    thread of polars' own; a size the user set (POLARS_MAX_THREADS) is theirs."""
    import os
    import subprocess
    import sys

    code = ("from fanpin_cli.report.background import one_polars_thread; one_polars_thread(); "
            "import polars; print(polars.thread_pool_size())")
    env = {k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"}
    if given is not None:
        env["POLARS_MAX_THREADS"] = given
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == threads


def test_finish_returns_on_the_last_message_without_waiting_for_the_process_to_end(tmp_path):
    """The child's last message says every workbook is written; the run goes on putting them in
    place while the child ends (it is reaped by `abort` when the command ends, or at exit)."""
    import queue

    class Ending:  # a child that has sent its last message and is still ending
        def is_alive(self) -> bool:
            return True

        def join(self, timeout=None) -> None:
            raise AssertionError("finish waited for the process to end")

    first, rest = _split(_data())
    report = BackgroundReport.__new__(BackgroundReport)
    report.path, report._first, report._reads = tmp_path / "report.xlsx", first, None
    report._inbox, report._outbox, report._process = queue.Queue(), queue.Queue(), Ending()
    report._outbox.put(("ok", "42"))
    assert report.finish(**{**rest, "split": "none"}) == 42
    assert report._inbox.get_nowait()["rest"]["split"] == "none"  # what the child was sent


def test_on_windows_the_report_process_watches_its_parents_handle(monkeypatch):
    """On Windows a process keeps its dead parent's id (`os.getppid` never changes): the report
    process waits on the parent's process handle instead (`parent_gone`) — here a pipe stands
    for the handle, closed as the parent ending would signal it."""
    import multiprocessing.connection  # noqa: F401 - imported as here, not as on Windows
    import os
    import sys
    import threading
    import types

    from fanpin_cli.report import background

    read, write = os.pipe()
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(background.mp, "parent_process", lambda: types.SimpleNamespace(sentinel=read))
    gone = background.parent_gone()
    assert gone is not None
    ended = threading.Event()
    watcher = threading.Thread(target=lambda: (gone(), ended.set()), daemon=True)
    watcher.start()
    assert not ended.wait(0.3)  # the parent still there
    os.close(write)  # the parent gone
    assert ended.wait(10)
    os.close(read)
    monkeypatch.setattr(sys, "platform", "linux")
    assert background.parent_gone() is None  # elsewhere `os.getppid` says it


def test_a_file_read_ahead_that_the_run_never_takes_does_not_hold_up_the_workbook(tmp_path):
    """The process started ahead reads files for the run; one the run never takes (here: none is)
    would leave it blocked sending it — more than its pipe holds — and the run waiting for its
    workbook until the half-hour timeout. Handed its data (`begin`), it goes on at once."""
    import time

    from fanpin_cli.config import InputSpec
    from fanpin_cli.report.background import prestart_report, start_report

    big = tmp_path / "公安_户籍注销.csv"
    rows = "".join(f"张{i:06d},43312719900101{i % 10000:04d},死亡,2026-01-05\n" for i in range(120_000))
    big.write_text("姓名,身份证号码,注销原因,注销日期\n" + rows, encoding="utf-8")
    data = _data()
    write_report(tmp_path / "direct.xlsx", data)
    first, rest = _split(data)
    ahead = prestart_report(tmp_path / "report.xlsx")
    ahead.read_ahead([InputSpec("police", big, big.name)])  # never taken
    time.sleep(1.0)  # (read meanwhile: blocked sending it)
    started = time.monotonic()
    report = start_report(tmp_path / "report.xlsx", first, ahead)
    report.finish(**rest)
    assert time.monotonic() - started < 60  # not _TIMEOUT (1800 s)
    assert _cells(tmp_path / "report.xlsx") == _cells(tmp_path / "direct.xlsx")
