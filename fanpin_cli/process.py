"""How a process of fanpin's own (the `fanpin` command, report.xlsx's process) runs and ends.

`collect_rarely`: Python's cyclic garbage collector runs every 1,000,000 new container objects
instead of every 700, from the command's first step on (`launch.begin`, before typer, polars and
pydantic are imported). A run makes millions (texts listed for hashing, rows of small frames) and
almost no reference cycles; each pass walks every young object still alive, most of them
modules' and frames' own. Measured with gc.callbacks: every 700, 250 passes took 0.68 s of a
50,000-household run, and at 3,000 households 1.08 s; every 50,000 (set once the command line
was read), 3,000 households with history: 86 passes, 35 ms in the run's process and 20 ms in
the report's, most of them made by the imports; every 1,000,000 from the first step: none at
3,000 or 50,000 households (the 6 made by Python's own start-up, 0.4 ms), the 50,000-household
peak unchanged (1,649 MB against 1,673). The cyclic garbage a run leaves is small (~9,000 objects
at 3,000 households, freed at the next pass); the older generations keep their default ratios.

`leave`: ends the process once its work is done, without tearing the interpreter down.

When Python exits normally it first waits for the threads and runs the `atexit` handlers
(multiprocessing ends its children, logging flushes, temporary folders are removed), then
frees every object one by one: each module's tables (pypinyin's and OpenCC's dictionaries,
polars', DuckDB's), a last garbage collection, and the memory returned page by page. That last
part changes nothing on disk; measured on this project's machine it took 0.15–0.2 s after a
3,000-household run and 0.5–1.2 s after a 50,000-household one. `leave` does the first two
steps exactly as Python does and then ends the process (`os._exit`), so the operating system
takes the memory back at once.

Only the console command (`cli.main`) calls it, after the command has returned: a program or a
test that imports fanpin as a library exits as usual. Every output file is closed by then (each
is written and closed before it is moved into place), and the history's connection is closed by
its own `with` block.

>>> exit_status(None), exit_status(3), exit_status(True)
(0, 3, 1)
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
import threading
from typing import Any, NoReturn

INTERRUPTED = 130       # the exit status of a process ended by Ctrl-C: 128 + SIGINT (`fanpin` says 已中断)
TERMINATED = 143        # ended by SIGTERM (cron's `timeout`, systemd, `kill`): 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM received (`end_on_sigterm`): the run ends as Ctrl-C ends it — its outputs and
    history as they were, temp files removed, the report process ended — with exit status
    TERMINATED."""


def end_on_sigterm() -> None:
    """Have SIGTERM end the command as Ctrl-C does (`Terminated`, a KeyboardInterrupt), not
    kill it where it stands (its staging folder left for the next run to remove, no word said).
    From the main thread only (where Python runs signal handlers); processes started before
    keep the default.

    >>> import signal
    >>> before = signal.getsignal(signal.SIGTERM)
    >>> end_on_sigterm(); signal.getsignal(signal.SIGTERM) is _terminated
    True
    >>> _ = signal.signal(signal.SIGTERM, before)
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def interrupted_status(error: BaseException) -> int:
    """The exit status of a command ended by `error` (a KeyboardInterrupt): TERMINATED for
    SIGTERM, else INTERRUPTED.

    >>> interrupted_status(Terminated()), interrupted_status(KeyboardInterrupt())
    (143, 130)
    """
    return TERMINATED if isinstance(error, Terminated) else INTERRUPTED
COLLECT_EVERY = 1_000_000  # new container objects between two passes of the youngest generation


def one_blas_thread() -> None:
    """Have numpy, when this process imports it, start OpenBLAS with one thread, unless the user
    sized its pool (`OPENBLAS_NUM_THREADS`, read once, when numpy loads OpenBLAS). fanpin makes no
    matrix product: the pool only costs its start, its threads spinning on the other core (numpy's
    import 0.11 → 0.06 s of CPU on this project's 2-core machine). Called first thing by the
    `fanpin` command, before any thread exists (a variable set while other threads read the
    environment is not safe on every C library); the processes it starts inherit the setting."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def collect_rarely() -> None:
    """Python's cyclic collector every `COLLECT_EVERY` new container objects (see module
    docstring); the older generations' ratios unchanged. For fanpin's own processes only.

    >>> before = gc.get_threshold()
    >>> collect_rarely(); gc.get_threshold()[0] == COLLECT_EVERY
    True
    >>> gc.set_threshold(*before)
    """
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(COLLECT_EVERY, older, oldest)


def exit_status(code: Any) -> int:
    """The process's exit status for `SystemExit(code)`, as Python gives it: None → 0, an
    integer → itself, anything else is printed to stderr → 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code)
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001 — a closed or broken stderr: the status still says it
        pass
    return 1


def leave(code: Any) -> NoReturn:
    """Wait for the threads, run the exit handlers, flush the console and end the process with
    `code`'s status (see `exit_status`). Where this Python lacks the hooks used (not CPython),
    exits the usual way instead."""
    shutdown = getattr(threading, "_shutdown", None)
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or run_handlers is None:
        sys.exit(code)
    status = exit_status(code)
    try:
        shutdown()        # as Python's own exit: non-daemon threads joined, thread pools shut down
        run_handlers()    # then the atexit handlers, in their order
    except KeyboardInterrupt as interrupted:  # Ctrl-C (or SIGTERM) while waiting at the end: no traceback
        status = interrupted_status(interrupted)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 — a closed pipe (`fanpin … | head`): nothing to flush to
            pass
    os._exit(status)
