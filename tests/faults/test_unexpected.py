"""Errors nobody planned for (a polars error on an odd file, memory that ran out, a bug) end a
command with one masked Chinese line naming the file and stage where known, exit code 3, and a
crash report holding the masked traceback; Ctrl-C ends it with 已中断, exit code 130."""

from __future__ import annotations

import errno
import importlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fanpin_cli import cli, crash
from fanpin_cli.errors import FanpinError, InputFileError
from fanpin_cli.resources import resource_dir

runner = CliRunner()
# A valid 18-digit ID as a polars error quotes a cell; its middle digits must be shown nowhere.
ID = "433127198805140017"
HIDDEN = ID[6:17]
MASKED = ID[:6] + "*" * 11 + ID[-1]


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    """The sample county, copied: a run writes its key beside the config."""
    folder = tmp_path_factory.mktemp("unexpected") / "county"
    shutil.copytree(resource_dir("sample_data"), folder)
    return folder / "fanpin.toml"


def _failing(module_name: str, name: str, error: Callable[[], BaseException], when: Callable[..., bool]):
    """`module.name` that raises `error()` when `when(*args, **kwargs)`, else does its work
    (for `monkeypatch.setattr(*...)`)."""
    module = importlib.import_module(module_name)
    real = getattr(module, name)

    def patched(*args, **kwargs):
        if when(*args, **kwargs):
            raise error()
        return real(*args, **kwargs)

    return module, name, patched


def _link_fails(error: Callable[[], BaseException]):
    # (`link` links one file through `link_files`, the pipeline several small ones at once)
    return _failing("fanpin_cli.linking", "link_files", error,
                    lambda roster, extracts, **k: any(sector == "medical_enrollment" for _, sector in extracts))


def _polars_error() -> BaseException:
    return pl.exceptions.ComputeError(
        f"conversion from `str` to `i64` failed in column '证件号码' for 1 out of 9 values: [\"{ID}\"]")


def _always(*args, **kwargs) -> bool:
    return True


@dataclass
class Case:
    patch: Callable[[], tuple]
    line: tuple[str, ...]  # in the console line, in this order
    raised: str  # the original exception's name, in the crash report
    not_in_line: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    report_ids: str = MASKED  # how the ID shows in the crash report


CASES = {
    # a polars error quoting a full ID, while linking one extract
    "link": Case(lambda: _link_fails(_polars_error),
                 ("医保_参保登记.csv（比对关联）", "程序内部错误（polars ComputeError）"), "ComputeError"),
    # --full-ids: the crash report, meant to be sent, is masked all the same (the console line too)
    "link_full_ids": Case(lambda: _link_fails(_polars_error),
                          ("医保_参保登记.csv（比对关联）", "程序内部错误"), "ComputeError",
                          options=("--full-ids",)),
    # a panic in Rust code while linking (no Exception), the file linked with others: its name all the same
    "link_panic": Case(lambda: _link_fails(lambda: pl.exceptions.PanicException("index out of bounds")),
                       ("医保_参保登记.csv（比对关联）", "程序内部错误（pyo3_runtime PanicException）"), "PanicException"),
    # memory ran out reading one file: what to do about it
    # (`pipeline._read`: the file's reading in the run, read here or by the report process)
    "read_memory": Case(lambda: _failing("fanpin_cli.pipeline", "_read", MemoryError,
                                         lambda spec, ahead: spec.source_file == "民政_救助名单.csv"),
                        ("民政_救助名单.csv（读取数据）", "内存不足", "内存更大的电脑", "GB"), "MemoryError",
                        not_in_line=("程序内部错误",)),
    # a panic in Rust code reading a workbook (pyo3's PanicException is no Exception)
    "read_panic": Case(lambda: _failing("fanpin_cli.pipeline", "_read",
                                        lambda: pl.exceptions.PanicException("called `Option::unwrap()` on a `None` value"),
                                        lambda spec, ahead: spec.source_file == "教育_学籍资助.xlsx"),
                       ("教育_学籍资助.xlsx（读取数据）", "程序内部错误（pyo3_runtime PanicException）"), "PanicException"),
    # the disk filled up while the roster was prepared: the system's reason, in Chinese
    "prepare_disk_full": Case(lambda: _failing("fanpin_cli.prepare", "prepare",
                                               lambda: OSError(errno.ENOSPC, "No space left on device"),
                                               lambda frame, ref: frame["source_file"][0] == "监测对象信息.xlsx"),
                              ("监测对象信息.xlsx（证件与姓名规范化）", "磁盘空间已满"), "OSError"),
    # a bug in a stage of no one file: the stage alone
    "cross_checks": Case(lambda: _failing("fanpin_cli.quality", "check_cross", lambda: KeyError("township"), _always),
                         ("错误：数据质量检查：", "程序内部错误（KeyError）"), "KeyError",
                         not_in_line=(".csv", ".xlsx")),
    # a bug while the outputs are written: the stage
    "writing": Case(lambda: _failing("fanpin_cli.outputs", "write_outputs",
                                     lambda: TypeError("unhashable type: 'list'"), _always),
                    ("错误：写出结果：", "程序内部错误（TypeError）"), "TypeError"),
    # a panic in Rust code while the outputs are written (no Exception): the stage all the same
    "writing_panic": Case(lambda: _failing("fanpin_cli.outputs", "write_outputs",
                                           lambda: pl.exceptions.PanicException("index out of bounds"), _always),
                          ("错误：写出结果：", "程序内部错误（pyo3_runtime PanicException）"), "PanicException"),
    # a bug after the job (in the command itself): an internal error, no stage to name
    "after_the_job": Case(lambda: _failing("fanpin_cli.console", "print_run_summary",
                                           lambda: ValueError(f"bad cell {ID}"), _always),
                          ("错误：程序内部错误（ValueError）",), "ValueError"),
}


@pytest.mark.parametrize("name", CASES)
def test_unexpected_error_is_one_masked_line_and_a_crash_report(name, county, tmp_path, monkeypatch):
    case = CASES[name]
    monkeypatch.setattr(*case.patch())
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs" / "out"
    out.parent.mkdir()
    result = runner.invoke(cli.app, ["run", str(county), "--out", str(out), "--no-history", *case.options])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.output
    line = lines[0]
    at = 0
    for part in case.line:
        assert part in line[at:], (part, line)
        at = line.index(part, at) + len(part)
    assert all(part not in line for part in case.not_in_line), line
    assert HIDDEN not in result.output
    # the crash report: beside the output folder, named in the line, the traceback masked
    reports = list(out.parent.glob("fanpin-error-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in line, (reports, line)
    assert not list(tmp_path.glob("fanpin-error-*"))
    if os.name == "posix":  # the clerk's own to read: it may name files and places
        assert stat.S_IMODE(reports[0].stat().st_mode) == 0o600
    text = reports[0].read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and case.raised in text
    assert "fanpin 0." in text and "Python 3." in text and "polars " in text
    if case.raised == "ComputeError":  # the polars message is there, its ID masked
        assert case.report_ids in text
    assert HIDDEN not in text


def test_interrupted_run_says_so_and_writes_no_report(county, tmp_path, monkeypatch):
    """KeyboardInterrupt in a worker thread (as a task hands it over): 已中断, exit 130."""
    monkeypatch.setattr(*_link_fails(KeyboardInterrupt))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli.app, ["run", str(county), "--out", str(tmp_path / "out"), "--no-history"])
    assert result.exit_code == 130, result.output
    assert result.output.strip() == "已中断"
    assert not list(tmp_path.glob("fanpin-error-*"))


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_of_a_real_run(county, tmp_path):
    """A real SIGINT while a file is linked (the main thread waits for the workers): the run
    stops with 已中断, exit 130, no traceback and no crash report."""
    # one SIGINT only (files are linked by several threads): a second one could land while the
    # first is being handled and end the run some other way
    script = (
        "import os, signal, threading, time\n"
        "import fanpin_cli.linking as linking\n"
        "real = linking.link_files\n"  # (`link` links one file through it too)
        "once = threading.Lock()\n"
        "def link_files(*a, **k):\n"
        "    if once.acquire(blocking=False):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(0.5)\n"
        "    return real(*a, **k)\n"
        "linking.link_files = link_files\n"
        "from fanpin_cli.cli import main\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", script, "run", str(county), "--out", str(tmp_path / "out"),
                          "--no-history", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 130, run.stderr
    assert run.stderr.strip() == "已中断" and run.stdout == ""
    assert not list(tmp_path.glob("fanpin-error-*"))


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_while_the_outputs_are_written(county, tmp_path):
    """Ctrl-C reaches the whole process group as the outputs are written, report.xlsx's process
    busy with the workbook (its polars queries would take the signal): the run stops with
    已中断, exit 130 — never as a failed workbook — and the output folder stays as it was."""
    script = (
        "import os, signal, threading, time\n"
        "import fanpin_cli.report.background as background\n"
        "real = background.BackgroundReport.finish\n"
        "def finish(self, **rest):\n"
        "    threading.Timer(0.05, lambda: os.killpg(0, signal.SIGINT)).start()\n"
        "    return real(self, **rest)\n"
        "background.BackgroundReport.finish = finish\n"
        "from fanpin_cli.cli import main\n"
        "main()\n"
    )
    out = tmp_path / "out"
    for _attempt in range(3):  # the signal lands somewhere else in the writing each time
        run = subprocess.run([sys.executable, "-c", script, "run", str(county), "--out", str(out), "--no-history",
                              "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                             start_new_session=True)
        assert run.returncode == 130, run.stderr
        assert run.stderr.strip() == "已中断" and run.stdout == ""
        assert not out.exists() or not any(out.iterdir())
    assert not list(tmp_path.glob("fanpin-error-*"))


def test_main_ends_whatever_escapes_the_commands_in_one_line(tmp_path, monkeypatch, capsys):
    """The console script's last resort (an error outside every command): one line, exit 3,
    a crash report in the current folder. (Ctrl-C there: `test_ctrl_c_of_a_real_run`.)"""
    def app():
        raise RuntimeError(f"escaped {ID}")

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "程序内部错误（RuntimeError）" in err and HIDDEN not in err
    reports = list(tmp_path.glob("fanpin-error-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in err
    text = reports[0].read_text(encoding="utf-8")
    assert f"RuntimeError: escaped {MASKED}" in text and HIDDEN not in text


@pytest.mark.parametrize(("error", "kind", "file", "stage"), [
    (_polars_error, "InternalError", "医保_参保登记.csv", "比对关联"),
    # an error the user can act on passes as it is (exit code 1, its own message)
    (lambda: InputFileError("文件已损坏", file="医保_参保登记.csv"), "InputFileError", "医保_参保登记.csv", None),
])
def test_compute_blames_the_file_and_stage(error, kind, file, stage, county, monkeypatch):
    import fanpin_cli
    from fanpin_cli.config import load_config

    monkeypatch.setattr(*_link_fails(error))
    with pytest.raises(FanpinError) as caught:
        fanpin_cli.compute(load_config(county), key=b"k" * 32)
    raised = caught.value
    assert type(raised).__name__ == kind and raised.file == file and getattr(raised, "stage", None) == stage
    if kind == "InternalError":
        assert raised.exit_code == 3 and isinstance(raised.__cause__, pl.exceptions.ComputeError)
        assert HIDDEN not in str(raised)
    else:
        assert raised.exit_code == 1 and str(raised) == "医保_参保登记.csv：文件已损坏"


_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def test_crash_report_masks_ids_hidden_from_plain_masking(tmp_path):
    """A message may quote an ID in forms `mask_text` alone does not see: UTF-16 text as bytes
    (Excel's "Unicode text" export) or with its NULs, JSON and UTF-8 escapes, digits split by
    `_` `/` `\\` `,` TAB, newline or a list's quotes. The report (under --full-ids too) shows
    none of the hidden digits, in any of these forms."""
    wide = ID.translate(_WIDE)
    forms = [
        repr(ID.encode("utf-16-le")), ID.encode("utf-16-be").decode("latin-1"), json.dumps(wide),
        "".join(f"\\u{ord(c):04x}" for c in ID), repr(wide.encode()),
        f"/data/{ID[:6]}_{ID[6:]}.xlsx", f"{ID[:6]}/{ID[6:10]}/{ID[10:]}", f"C:\\县\\{ID[:6]}\\{ID[6:]}.csv",
        f"{ID[:6]},{ID[6:14]},{ID[14:]}", f"{ID[:6]}\t{ID[6:]}", f"{ID[:6]}\r\n{ID[6:]}", repr([ID[:6], ID[6:]]),
    ]
    # how the hidden digits would read in each escaped form
    leaks = [repr(HIDDEN.encode("utf-16-le"))[2:-1], HIDDEN.encode("utf-16-be").decode("latin-1"),
             json.dumps(HIDDEN.translate(_WIDE))[1:-1], "".join(f"\\u{ord(c):04x}" for c in HIDDEN),
             repr(HIDDEN.translate(_WIDE).encode())[2:-1]]
    try:
        raise ValueError("；".join(forms) + "；户编号 4331270400200004；2026-11-30 2026-12-01")
    except ValueError as exc:
        path = crash.write_report(exc, [tmp_path],
                                  argv=["fanpin", "run", f"/data/{ID[:6]}_{ID[6:]}/fanpin.toml", "--full-ids"])
    text = path.read_text(encoding="utf-8")
    assert HIDDEN not in re.sub(r"\D", "", text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    assert not [leak for leak in leaks if leak in text]
    assert "\x00" not in text
    # what support needs stays: the message's shape, the region code and the last digit; the
    # household number and dates, which are no IDs
    assert f"/data/{ID[:6]}_{'*' * 11}{ID[-1]}.xlsx" in text and f"{wide[:6]}{'*' * 11}{wide[-1]}" in text
    assert "户编号 4331270400200004；2026-11-30 2026-12-01" in text


class _OneSecond(datetime):
    """Every report of the test made in the same second."""

    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 30, 8, 30, 15, tzinfo=tz or timezone(timedelta(hours=8)))


def test_two_reports_in_one_second_are_each_named_in_their_line(tmp_path, monkeypatch, capsys):
    """The second report of a second gets its own name, and the console line names it as it
    is: no run of digits in the name is long enough to be masked."""
    def app():
        raise RuntimeError("escaped")

    monkeypatch.setattr(crash, "datetime", _OneSecond)
    monkeypatch.setattr(cli, "app", app)
    monkeypatch.chdir(tmp_path)
    named = []
    for _ in range(2):
        with pytest.raises(SystemExit):
            cli.main()
        line = capsys.readouterr().err.strip()
        found = re.search(r"详细信息已写入 (.+?)，请把这个文件发给技术支持", line)
        assert found, line
        named.append(Path(found.group(1)))
    assert all(path.is_file() for path in named), named
    assert sorted(named) == sorted(tmp_path.glob("fanpin-error-*.txt")) and named[0] != named[1]


def test_demo_keeps_crash_reports_out_of_its_sample_data(tmp_path, monkeypatch):
    """`demo` runs the sample county inside fanpin's own install: when the folder beside its
    output does not take the report, it goes to the current folder, never into the package."""
    sample = resource_dir("sample_data")
    before = set(sample.glob("fanpin-error-*"))
    monkeypatch.setattr(*_failing("fanpin_cli.config", "load_config", lambda: ValueError("bug"), _always))
    monkeypatch.chdir(tmp_path)
    try:  # the folder meant to hold the output folder does not exist yet: no report there
        result = runner.invoke(cli.app, ["demo", "--out", str(tmp_path / "not-yet" / "out"), "--quiet"])
        written = set(sample.glob("fanpin-error-*")) - before
    finally:
        for path in set(sample.glob("fanpin-error-*")) - before:
            path.unlink()
    assert result.exit_code == 3, result.output
    assert not written
    reports = list(tmp_path.glob("fanpin-error-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in result.output
