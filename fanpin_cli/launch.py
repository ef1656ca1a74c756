"""The `fanpin` command's first step: report.xlsx's process started before anything heavy is
imported.

`fanpin run` and `fanpin demo` write report.xlsx in a second process (`report.background`).
Started here, before this process imports typer, rich and polars (~0.3 s during which the
second core is idle), that process's own start runs on the other core meanwhile, instead of
later beside the reading of the input files, when both cores are busy. The command takes it
(`take_ahead`); one not taken (a usage error, `--help`) is ended when this process ends.

Imports only the standard library and fanpin's light modules: `fanpin_cli.report.background`
imports polars only inside the process it starts.

>>> wants_workbook(["run", "fanpin.toml", "--out", "2026-11"])
True
>>> wants_workbook(["run", "--help"]), wants_workbook(["check", "a.csv"]), wants_workbook([])
(False, False, False)
"""

from __future__ import annotations

import atexit
import sys
from typing import Any, NoReturn

WORKBOOK_COMMANDS = ("run", "demo")  # the commands that write report.xlsx (`cli._report_process`)

_ahead: list[Any] = []  # the process started by `start_ahead`, until a command takes it


def wants_workbook(args: list[str]) -> bool:
    """Whether the command line `args` (without the program) runs a command that writes
    report.xlsx: its first word is one of WORKBOOK_COMMANDS and it does not ask for help."""
    return bool(args) and args[0] in WORKBOOK_COMMANDS and "--help" not in args


def start_ahead(args: list[str]) -> None:
    """Start report.xlsx's process if `args` runs a command that writes it (nothing happens
    where processes cannot be started: the command starts its own, or writes in-process)."""
    if _ahead or not wants_workbook(args):
        return
    from fanpin_cli.report.background import prestart_report

    started = prestart_report()
    if started is not None:
        _ahead.append(started)
        atexit.register(_end_untaken)


def begin(args: list[str]) -> None:
    """The `fanpin` command's first steps, before anything heavy is imported: the cyclic
    collector run rarely (`process.collect_rarely`: the imports that follow made most of its
    passes), OpenBLAS sized (`process.one_blas_thread`, while no thread exists yet), then
    report.xlsx's process started (`start_ahead`), which inherits both. `python -m
    fanpin_cli.cli` takes them too."""
    from fanpin_cli.process import collect_rarely, one_blas_thread

    collect_rarely()
    one_blas_thread()
    start_ahead(args)


def take_ahead() -> Any:
    """The process `start_ahead` started (a `report.background.BackgroundReport`), or None;
    the caller then owns it (and ends it)."""
    return _ahead.pop() if _ahead else None


def _end_untaken() -> None:
    """At exit: a process started ahead that no command took is told to end."""
    while _ahead:
        _ahead.pop().end()


def console() -> NoReturn:
    """The `fanpin` command: its first steps (`begin`), then `fanpin_cli.cli.console` (Ctrl-C
    before the command line is read: 已中断 and exit code 130, as the command says it, no
    traceback)."""
    try:
        begin(sys.argv[1:])
        from fanpin_cli.cli import console as run_command
    except KeyboardInterrupt:
        from fanpin_cli.process import INTERRUPTED

        print("已中断", file=sys.stderr)
        sys.exit(INTERRUPTED)
    run_command()
