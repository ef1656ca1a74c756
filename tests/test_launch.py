"""The `fanpin` command's first step (`fanpin_cli.launch`): report.xlsx's process started before
the heavy imports, forked only while the process has a single thread, ended if no command takes it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fanpin_cli.launch import RUN_VALUE_OPTIONS, order_reads, run_config, wants_workbook
from fanpin_cli.readahead import ahead_specs
from fanpin_cli.resources import resource_dir

LINUX = sys.platform.startswith("linux")


@pytest.mark.parametrize(("args", "wanted"), [
    (["run", "fanpin.toml"], True),
    (["run", "fanpin.toml", "--out", "2026-11", "-q", "--no-history"], True),
    (["demo"], True),
    (["demo", "--split", "none"], True),
    (["run", "--help"], False),
    (["run", "fanpin.toml", "--help"], False),
    (["check", "民政.csv"], False),
    (["province", "p.toml"], False),
    (["--version"], False),
    ([], False),
])
def test_a_workbook_is_wanted_only_by_run_and_demo_not_asking_for_help(args: list[str], wanted: bool) -> None:
    assert wants_workbook(args) is wanted


@pytest.mark.parametrize(("args", "config"), [
    (["run", "fanpin.toml"], "fanpin.toml"),
    (["run", "--out", "2026-11", "县/fanpin.toml", "-q"], "县/fanpin.toml"),
    (["run", "-q", "--split", "none", "--no-history", "--full-ids", "a.toml"], "a.toml"),
    (["run", "--out=2026-11", "--split=none", "a.toml", "--out", "b"], "a.toml"),
    (["run", "--", "-a.toml"], "-a.toml"),  # after "--" even a name like an option
    (["run", "--out", "2026-11"], None),
    (["demo"], None),
    (["check", "a.toml"], None),
    ([], None),
])
def test_the_config_of_a_run_is_found_on_its_command_line(args: list[str], config: str | None) -> None:
    assert run_config(args) == (None if config is None else Path(config))


def test_the_options_skipped_with_their_value_are_the_run_commands_options_that_take_one() -> None:
    # `run_config` must know every option of `fanpin run` that takes a value: a new one would
    # otherwise have its value taken for the config (then nothing is ordered, or the run drops it)
    import typer.main

    from fanpin_cli.cli import app

    run = typer.main.get_command(app).commands["run"]
    taking = {name for p in run.params if p.param_type_name == "option" and not p.is_flag for name in p.opts}
    assert taking == set(RUN_VALUE_OPTIONS)


class _Process:
    def __init__(self) -> None:
        self.orders: list[list] = []

    def read_ahead(self, specs: list) -> None:
        self.orders.append(list(specs))


def test_the_first_step_orders_a_small_countys_files_read_and_nothing_for_a_config_it_cannot_read(
        tmp_path: Path) -> None:
    from fanpin_cli.config import load_config

    sample = resource_dir("sample_data") / "fanpin.toml"
    process = _Process()
    order_reads(sample, process)
    config = load_config(sample)
    assert process.orders == [ahead_specs(config.roster, config.extracts)]
    assert process.orders[0][0] == config.roster
    for unreadable in (tmp_path / "missing.toml", tmp_path / "bad.toml", None):
        (tmp_path / "bad.toml").write_text("[roster]\npath = 'nowhere.csv'\n", encoding="utf-8")
        process = _Process()
        order_reads(unreadable, process)  # the command says why, reading the config itself
        assert process.orders == []


def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(not LINUX, reason="fork is used on Linux only")
def test_the_process_is_forked_before_polars_is_imported_and_spawned_once_threads_run() -> None:
    done = _python("""
        import sys, threading
        from fanpin_cli.launch import start_ahead, take_ahead
        from fanpin_cli.report.background import start_method
        before = start_method()
        start_ahead(["run", "fanpin.toml"])
        heavy = [m for m in ("polars", "typer", "rich", "numpy") if m in sys.modules]
        ahead = take_ahead()
        print(before, type(ahead._process).__name__, heavy, take_ahead())
        stop = threading.Event()
        threading.Thread(target=stop.wait).start()
        print(start_method())
        stop.set()
        ahead.abort()
        print(ahead._process.exitcode)
    """)
    assert done.returncode == 0, done.stderr
    first, second, code = done.stdout.split("\n")[:3]
    assert first == "fork ForkProcess [] None"  # nothing heavy imported to start it; taken once
    assert second == "spawn"  # a second thread: never forked
    assert code == "0"  # told to end (abort), it ended by itself


def test_a_process_started_ahead_that_no_command_takes_ends_with_the_program() -> None:
    done = _python("""
        import sys
        from fanpin_cli.launch import _ahead, start_ahead
        start_ahead(["run", "fanpin.toml"])
        print(_ahead[0]._process.pid, flush=True)
        sys.exit(2)  # e.g. a usage error: the command never ran
    """)
    assert done.returncode == 2, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by an init that is slow) counts as ended
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _cells(path: Path) -> dict[str, list[tuple]]:
    book = load_workbook(path)
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in book.worksheets}


def test_the_command_writes_the_same_workbooks_with_its_process_started_ahead(tmp_path: Path) -> None:
    """`python -m fanpin_cli.cli run` (its report process started first, forked on Linux) and the
    same run with the process started by the command (`run_job`, spawned beside pytest's threads)
    write the same report.xlsx and 乡镇 workbooks."""
    from fanpin_cli.config import load_config
    from fanpin_cli.pipeline import run_job
    from fanpin_cli.resources import resource_dir

    config = resource_dir("sample_data") / "fanpin.toml"
    done = subprocess.run([sys.executable, "-m", "fanpin_cli.cli", "run", str(config), "--out", str(tmp_path / "cli"),
                           "-q", "--no-history"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    run_job(load_config(config), tmp_path / "job", history=False)
    books = sorted(p.relative_to(tmp_path / "job") for p in (tmp_path / "job").rglob("*.xlsx"))
    assert len(books) > 1
    assert sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*.xlsx")) == books
    for rel in books:
        assert _cells(tmp_path / "cli" / rel) == _cells(tmp_path / "job" / rel), rel


@pytest.mark.skipif(not LINUX, reason="fork and /proc are Linux's")
def test_the_process_started_ahead_ignores_ctrl_c_and_ends_when_told() -> None:
    """Ctrl-C reaches every process of the terminal's group: the report process leaves it to the
    command (which says 已中断 and ends it) instead of printing a traceback of its own — from its
    first step, and still once it has imported polars, which installs a SIGINT handler of its
    own (a Ctrl-C while it writes a workbook would end it as a crash, the run with a wrong error):
    blocked in every thread."""
    done = _python("""
        import os, signal, sys, time
        from fanpin_cli.launch import start_ahead, take_ahead
        start_ahead(["run", "fanpin.toml"])
        ahead = take_ahead()
        pid = ahead._process.pid
        deadline = time.monotonic() + 60
        def held(status):  # SIGINT blocked in that thread, or ignored
            bits = {line.split(":")[0]: int(line.split()[1], 16) for line in open(status)
                    if line.startswith(("SigBlk:", "SigIgn:"))}
            return bool((bits["SigBlk"] | bits["SigIgn"]) >> (signal.SIGINT - 1) & 1)
        def has_polars():
            return "_polars_runtime" in open(f"/proc/{pid}/maps").read()
        while not held(f"/proc/{pid}/status") and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(pid, signal.SIGINT)  # at its first step
        while not has_polars() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # (its import done, its handler set)
        threads = os.listdir(f"/proc/{pid}/task")
        every = all(held(f"/proc/{pid}/task/{t}/status") for t in threads)
        os.kill(pid, signal.SIGINT)  # once polars is imported
        time.sleep(0.5)
        print(has_polars(), len(threads) > 1 and every, ahead.alive(), flush=True)
        ahead.abort()
        print(ahead._process.exitcode)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True", "0"]
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr


def test_a_process_that_has_imported_polars_is_never_forked() -> None:
    done = _python("""
        import sys
        from fanpin_cli.report.background import start_method
        before = start_method()
        sys.modules["polars"] = object()  # as if polars had started no thread of its own
        print(before, start_method())
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == (["fork", "spawn"] if LINUX else ["spawn", "spawn"])


def test_a_quiet_run_never_imports_rich_and_a_shown_run_still_prints(tmp_path: Path) -> None:
    # `fanpin run -q` (cron) shows nothing: rich (~20 ms of every start) is not imported at all;
    # the same run without -q shows its tables as before.
    import shutil

    from fanpin_cli.resources import resource_dir

    county = Path(shutil.copytree(resource_dir("sample_data"), tmp_path / "county"))
    command = [sys.executable, "-X", "importtime", "-m", "fanpin_cli.cli", "run", str(county / "fanpin.toml"),
               "--no-history", "--split", "none"]
    quiet = subprocess.run([*command, "--out", str(tmp_path / "q"), "-q"], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in quiet.stderr.splitlines() if line.startswith("import time:")]
    assert "polars" in imported and (tmp_path / "q" / "report.xlsx").is_file()
    assert not [m for m in imported if m == "rich" or m.startswith("rich.")]
    shown = subprocess.run([*command, "--out", str(tmp_path / "s")], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "结果已写入" in shown.stdout and "rich.console" in shown.stderr


@pytest.mark.skipif(not LINUX, reason="fork is used on Linux only")
def test_ordering_a_small_countys_reads_imports_nothing_heavy() -> None:
    # the command's first step reads the config's input tables to order the reads: a good
    # config's files are checked without the file readers (polars), which only a bad one needs
    # to say what is wrong with it
    done = _python("""
        import sys
        from fanpin_cli.launch import start_ahead, take_ahead
        start_ahead(["run", sys.argv[1]])
        heavy = [m for m in ("polars", "typer", "rich", "numpy") if m in sys.modules]
        ahead = take_ahead()
        print(heavy, len(ahead.ordered[0]) if ahead.ordered else 0)
        ahead.abort()
    """, str(resource_dir("sample_data") / "fanpin.toml"))
    assert done.returncode == 0, done.stderr
    heavy, ordered = done.stdout.split("\n")[0].rsplit(" ", 1)
    assert heavy == "[]"
    assert int(ordered) > 0  # the sample county is small: its reads were ordered


def test_a_config_path_the_system_cannot_look_up_orders_nothing() -> None:
    # (a name too long: `Path.is_file` raises): the command reads the config itself and says why
    from fanpin_cli.launch import order_reads

    class Process:
        def read_ahead(self, specs: object) -> None:
            raise AssertionError("no order for a config that cannot be read")

    order_reads(Path("a" * 300 + ".toml"), Process())
