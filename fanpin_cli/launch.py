"""The `fanpin` command's first step: report.xlsx's process started before anything heavy is
imported.

`fanpin run` and `fanpin demo` write report.xlsx in a second process (`report.background`).
Started here, before this process imports typer, rich and polars (~0.3 s during which the
second core is idle), that process's own start runs on the other core meanwhile, instead of
later beside the reading of the input files, when both cores are busy. The command takes it
(`take_ahead`); one not taken (a usage error, `--help`) is ended when this process ends.
For `fanpin run` of a small county it is ordered at once to read the files it reads for the run
(`order_reads`: the roster, head of the run's longest chain, and the small extracts), which
it then does as soon as its own imports are done, while this process is still importing and
parsing its command line (~0.2 s before the run would order them).

Imports only the standard library and fanpin's light modules: `fanpin_cli.report.background`
imports polars only inside the process it starts; `config` and `readahead` import neither.

>>> wants_workbook(["run", "fanpin.toml", "--out", "2026-11"])
True
>>> wants_workbook(["run", "--help"]), wants_workbook(["check", "a.csv"]), wants_workbook([])
(False, False, False)
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path
from typing import Any, NoReturn

WORKBOOK_COMMANDS = ("run", "demo")  # the commands that write report.xlsx (`cli._report_process`)
RUN_VALUE_OPTIONS = ("--out", "--split")  # `fanpin run`'s options that take a value (`run_config`)

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
        order_reads(run_config(args), started)


def run_config(args: list[str]) -> Path | None:
    """The config file that the command line `args` (without the program) runs with `fanpin
    run` — its first argument that is no option nor an option's value — or None.

    >>> run_config(["run", "--out", "2026-11", "-q", "县/fanpin.toml", "--split", "none"])
    PosixPath('县/fanpin.toml')
    >>> run_config(["run", "--out=2026-11", "--", "-a.toml"]), run_config(["demo"]), run_config(["run"])
    (PosixPath('-a.toml'), None, None)
    """
    if not args or args[0] != "run":
        return None
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--":
            following = next(rest, None)
            return None if following is None else Path(following)
        if arg in RUN_VALUE_OPTIONS:
            next(rest, None)
        elif not arg.startswith("-"):
            return Path(arg)
    return None


def order_reads(config: Path | None, process: Any) -> None:
    """Order `process` to read the files it reads for a small county's run of `config`
    (`readahead.ahead_specs`; nothing for a big county). Nothing is ordered where the config
    cannot be read: the command reads it again and says what is wrong (a missing file is looked
    for first: its error, as every FanpinError, masks its message with polars' help). The run
    takes the order if it is for the files it would order (`pipeline._reads_ahead`), else
    drops it."""
    try:
        if config is None or not config.is_file():  # (is_file: an OSError for a name too long)
            return
        from fanpin_cli.config import load_inputs
        from fanpin_cli.readahead import ahead_specs

        specs = ahead_specs(*load_inputs(config))
    except Exception:  # noqa: BLE001 - said by the command, which reads its config itself
        return
    if specs:
        process.read_ahead(specs)


def begin(args: list[str]) -> None:
    """The `fanpin` command's first steps, before anything heavy is imported: the cyclic
    collector run rarely (`process.collect_rarely`: the imports that follow made most of its
    passes), OpenBLAS sized (`process.one_blas_thread`, while no thread exists yet), then
    report.xlsx's process started (`start_ahead`), which inherits both; then SIGTERM made to end
    the command as Ctrl-C does (`process.end_on_sigterm`). `python -m fanpin_cli.cli` takes them
    too."""
    from fanpin_cli.process import collect_rarely, end_on_sigterm, one_blas_thread

    collect_rarely()
    one_blas_thread()
    start_ahead(args)
    end_on_sigterm()  # (after the report process is forked: it keeps the default)


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
    except KeyboardInterrupt as interrupted:  # (or SIGTERM: exit code 143)
        from fanpin_cli.process import interrupted_status

        print("已中断", file=sys.stderr)
        sys.exit(interrupted_status(interrupted))
    run_command()
