"""report.xlsx written by a child process, in two phases, beside the rest of the job.

The workbook is pure-Python work (xlsxwriter). In a thread it competes for the interpreter
lock with the quality checks; a child process runs it on the second core instead. It needs only
the small frames (flags, review queue, quality detail), never the large extract frames. Once the
quality checks are done the parent writes the per-area workbooks (乡镇/村 folder) while the child
completes report.xlsx; the child then takes per-area workbooks too (each process the next area
not yet taken, a counter they share): the two run side by side to the end.

    report = BackgroundReport(path, first)   # rule sheets, 应纳未纳, 待核实匹配 start now
    ...                                      # quality checks run meanwhile
    report.finish(quality=..., scorecard=...)  # the rest; raises FanpinError on failure

A run starts the process before it reads anything (`prestart_report`) and hands it `first`
once the flags exist (`begin`): its start (a new interpreter importing polars and xlsxwriter,
~0.4 s CPU) is then done beside the parent's own start (`fanpin run` starts it before it
imports the pipeline and reads the config; where the workbook goes is said with `first`)
instead of at the end of the run, where the parent waits for the workbook. Until then it holds
only its imports (~55 MB). Its first order (`read_ahead`) is the input files it reads for the
run meanwhile — a small county's roster, the head of the run's longest chain — each handed back
through a pipe of its own, in order.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.util as mp_util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fanpin_cli.errors import FanpinError

if TYPE_CHECKING:  # polars is imported by the process this module starts, not to start it
    from fanpin_cli.report.model import ReportData

_TIMEOUT = 1800  # seconds; a workbook that takes longer has gone wrong
_SPAWNING = threading.Lock()


def start_method() -> str:
    """How the child process is made: "fork" on Linux while this process has a single thread
    and has not imported polars (the `fanpin` command's first step, `launch.start_ahead`: nothing
    imported but the standard library, no thread pool or allocator thread whose state a copy
    could hold half-taken, no exit handler of fanpin's that the copy would run; the
    child then needs no new interpreter, and no resource-tracker process is started), "spawn"
    otherwise (a new interpreter: always safe, e.g. once polars has started its threads).

    >>> start_method() in ("fork", "spawn")
    True
    """
    if sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods() and "polars" not in sys.modules:
        try:
            if len(os.listdir("/proc/self/task")) == 1:
                return "fork"
        except OSError:
            pass
    return "spawn"


def _peak_mb() -> int:
    """This process's peak resident memory in MB, from /proc (0 where the platform cannot
    tell). Not `ru_maxrss`: on Linux that survives exec and would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _watch_parent(parent: int) -> None:
    """End this process as soon as its parent is gone (killed): a workbook must never be
    written after the run that started it died. On Windows, where a process keeps its dead
    parent's id, by waiting on the parent's process handle (`parent_gone`)."""
    import time

    gone = parent_gone()
    if gone is not None:
        gone()
        os._exit(1)
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def parent_gone() -> Callable[[], None] | None:
    """On Windows, a function that returns once this (spawned) process's parent has ended: it
    waits on the parent's process handle (`multiprocessing.parent_process().sentinel`). None
    elsewhere: there a process whose parent ended is given another (`os.getppid` changes).

    >>> parent_gone() is None or sys.platform == "win32"
    True
    """
    if sys.platform != "win32":
        return None
    from multiprocessing.connection import wait

    process = mp.parent_process()
    sentinel = getattr(process, "sentinel", None)
    if sentinel is None:
        return None
    return lambda: wait([sentinel])


def _ignore_ctrl_c() -> None:
    """Ctrl-C reaches every process of the terminal's group: the parent says 已中断 and ends this
    one (`abort`, or it sees its parent gone); here it would only end the workbook as a crash.
    Ignored — and blocked where the system can (POSIX), in this thread and every thread started
    after: polars installs a handler of its own when it is imported, which would take it again
    (called again after that import, for Windows)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """While a child process is started: Ctrl-C held back in this thread (POSIX), so that the
    child starts with it blocked (it ignores it from its first step: `_ignore_ctrl_c`); one that
    comes meanwhile is delivered here once the child is started, never lost."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While a child is spawned: the main module unnamed, so that the child does not import it
    again. A spawned child otherwise re-runs the imports of the program that started it
    (`fanpin_cli.cli`: typer, rich, every command's modules: ~0.6 s) before it can start the
    workbook; it needs only this module (its target) and what the data it gets are made of."""
    with _SPAWNING:  # one at a time: a second thread would save (and restore) the hidden state
        main = sys.modules.get("__main__")
        if main is None:
            yield
            return
        with _hidden(main):
            yield


@contextlib.contextmanager
def _hidden(main: Any) -> Iterator[None]:
    had_file = "__file__" in main.__dict__
    saved_file, saved_spec = main.__dict__.get("__file__"), getattr(main, "__spec__", None)
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__spec__ = saved_spec
        if had_file:
            main.__file__ = saved_file


_NO_AREA = 1 << 30  # past any area list: what `_claim` hands out once the parent has failed


def _claim(counter: Any) -> int:
    """The next area workbook to write (a number shared by the parent and the child)."""
    with counter.get_lock():
        number = counter.value
        counter.value = number + 1
    return number


def _child(path: str | None, first: ReportData | None, inbox: Any, outbox: Any, parent: int = 0,
           counter: Any = None, reads: Any = None) -> None:
    """The child process: writes the workbooks (`_write`), then ends without the interpreter's
    object-by-object teardown (`process.leave`: its queue's last message is flushed by the exit
    handlers first); Python's cyclic collector runs rarely in it (`process.collect_rarely`). The parent waits for the child's end after its last message: that teardown
    (0.26–0.39 s after a 3,000-household run, measured) was the end of every run's writing."""
    from fanpin_cli.process import collect_rarely, leave

    _ignore_ctrl_c()
    one_polars_thread()
    # Spawned, or forked from a process that had imported only the standard library (see
    # `start_method`): the exit handlers `leave` runs are this process's own or the standard
    # library's, never fanpin's of the parent (which could remove the parent's files).
    collect_rarely()
    _write(path, first, inbox, outbox, parent, counter, reads)
    leave(0)


def one_polars_thread() -> None:
    """Have polars, when this process imports it, run its queries on one thread of its own,
    unless the user sized its pool (`POLARS_MAX_THREADS`). The workbooks' queries are small (a
    乡镇's rows, a few hundred per table) and run beside the whole run in the other process: a
    second polars thread only spins waiting for them, on the core the run is using (measured at
    3,000 households: −0.03 s wall over 22 alternated pairs; 50,000 households unchanged). Only
    where polars is not imported yet: a process started ahead (`prestart_report`); one spawned
    with its data has imported polars to receive them, and keeps polars' own number."""
    os.environ.setdefault("POLARS_MAX_THREADS", "1")


def _write(path: str | None, first: ReportData | None, inbox: Any, outbox: Any, parent: int = 0,
           counter: Any = None, reads: Any = None) -> None:
    if parent:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()

    try:
        # Started ahead (`prestart_report`): the run's first order is the input files to read
        # for it (`read_ahead`, maybe none); the workbook's modules are imported while it waits
        # for that order (`_import_while_waiting`), else after answering it, here.
        given = _answer_reads(inbox, reads) if first is None and reads is not None else _NO_ORDER
        from fanpin_cli.report.writer import ReportWriter

        _ignore_ctrl_c()  # (polars' own handler replaced)
        if first is None or first.split != "none":  # ready to write areas before the data come
            import fanpin_cli.flagging.households  # noqa: F401
            import fanpin_cli.report.split  # noqa: F401
        if first is None:  # the path and first data come by the inbox
            if given is _NO_ORDER:
                given = inbox.get()
            if given is None:  # the job failed before the flags existed
                outbox.put(("aborted", ""))
                return
            path, first = given
        writer = ReportWriter(Path(path), first)
        message = inbox.get()
        if message is None:  # the job failed elsewhere
            writer.abort()
            outbox.put(("aborted", ""))
            return
        data = replace(first, **message["rest"])
        writer.finish(data)
        if message.get("areas") and counter is not None:
            from fanpin_cli.report.split import write_areas

            write_areas(Path(message["areas"]), data, message["by"], lambda: _claim(counter))
        outbox.put(("ok", str(_peak_mb())))
    except FanpinError as exc:
        outbox.put(("error", str(exc)))
    except OSError as exc:  # the disk full, a folder gone: said as the run says its own writing's
        outbox.put(("oserror", (exc.errno, exc.strerror)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        outbox.put(("crash", crash_details(exc)))


class ReportProcessCrash(Exception):
    """What failed in the report process, as it said it (`crash_details`): its traceback,
    masked there; the cause of the run's InternalError, written into its crash report."""


def crash_details(error: BaseException) -> tuple[str, str]:
    """`error` of the report process said for the run: the one Chinese line an InternalError
    makes of it (its type, never its text) and its traceback, masked as a crash report is.

    >>> crash_details(KeyError("433127199001011238"))[0]
    '程序内部错误（KeyError）'
    >>> "199001011238" in crash_details(KeyError("433127199001011238"))[1]
    False
    """
    import traceback

    from fanpin_cli.errors import InternalError
    from fanpin_cli.privacy import mask_thoroughly

    return InternalError.of(error).message, mask_thoroughly("".join(traceback.format_exception(error)))


def failure_of(status: str, message: Any, workbook: str, exitcode: int | None = None) -> BaseException:
    """The run's error for the report process's last message `status`/`message` (anything but
    "ok"), or for no message at all (`status` ""; the process's `exitcode`): its FanpinError as
    it said it; an OSError as the run's own writing's would be said; anything else — a bug, a
    library's error, memory run out, the process gone — an InternalError of 写出结果 naming
    `workbook` (exit code 3, with a crash report), never an error of the data.

    >>> str(failure_of("crash", ("程序内部错误（KeyError）", "Traceback ..."), "report.xlsx"))
    'report.xlsx（写出结果）：程序内部错误（KeyError）'
    >>> str(failure_of("", None, "report.xlsx", -9))
    'report.xlsx（写出结果）：生成报表的子进程意外结束（被系统终止，常见原因是内存不足）'
    >>> type(failure_of("oserror", (28, "No space left on device"), "report.xlsx")).__name__
    'OSError'
    """
    from fanpin_cli.errors import InternalError
    from fanpin_cli.pipeline import STAGES  # (imported by the run that asks)

    writing = STAGES[-1]  # 写出结果
    if status == "error":
        return FanpinError(message)
    if status == "oserror":
        return OSError(*message)
    if status == "crash":
        said, details = message
        error = InternalError(said, stage=writing, file=workbook)
        error.__cause__ = ReportProcessCrash(details)
        return error
    if status:  # ("aborted": it was told the job failed, which it has not)
        return InternalError(f"生成报表的子进程中止了（{status}）", stage=writing, file=workbook)
    why = ("被系统终止，常见原因是内存不足" if exitcode == -9 else
           f"退出码 {exitcode}" if exitcode is not None else "没有响应")
    return InternalError(f"生成报表的子进程意外结束（{why}）", stage=writing, file=workbook)


_READ = "read"  # the order to read input files: {_READ: [specs]} (`BackgroundReport.read_ahead`)
_PIPE_BYTES = 1 << 20  # the reads' pipe: a read file comes in a few pieces, not 64 KB ones


def _widen(connection: Any) -> None:
    """Make the pipe behind `connection` hold `_PIPE_BYTES` where the system allows it (Linux):
    a file read in the child then crosses in a few large pieces — each piece is a turn of this
    process's interpreter lock, which its other threads hold most of the time while files are read."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if connection is None or setter is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(connection.fileno(), setter, _PIPE_BYTES)


def _close_connection(connection: Any) -> None:
    """Close `connection` (in a forked child: its copy of the parent's end of a pipe)."""
    connection.close()


_NO_ORDER = object()  # `_answer_reads` answered the order to read: the next order is still to come
# What writing the workbooks needs: report.xlsx the first, the 乡镇/村 workbooks all of them.
_WORKBOOK_MODULES = ("fanpin_cli.report.writer", "fanpin_cli.flagging.households", "fanpin_cli.report.split")


def _import_while_waiting(inbox: Any, modules: tuple[str, ...]) -> None:
    """Import `modules` one at a time while no order is in `inbox`: a process started ahead
    has ~0.2 s before the run's first order (the run imports its own modules and reads its
    config meanwhile, on the other core) — the workbook's modules (~50 ms of CPU) are then not
    imported after the files it reads, when both cores are busy. An order that comes first is
    answered first (the rest imported when they are needed)."""
    for name in modules:
        if not inbox.empty():
            return
        import_module(name)


def _answer_reads(inbox: Any, reads: Any) -> Any:
    """Wait for the first order (polars and the file readers imported meanwhile, then the
    workbook's modules while none has come). The order to read files: each read
    (`loaders.load_input`) and its LoadedFile sent on `reads`, in order (None for one that could
    not be read: the run then reads it itself, and says why as it always does); returns
    `_NO_ORDER`; the files are no longer sent once the run has closed its end of `reads`.
    Any other order (a run that sent none) is returned."""
    import fanpin_cli.loaders  # noqa: F401 - polars too

    _ignore_ctrl_c()  # (polars' own handler replaced)
    _import_while_waiting(inbox, _WORKBOOK_MODULES)
    given = inbox.get()
    if not (isinstance(given, dict) and _READ in given):
        return given
    for spec in given[_READ]:
        try:
            loaded = fanpin_cli.loaders.load_input(spec)
        except BaseException:  # noqa: BLE001 - read again, and reported, by the run
            loaded = None
        try:
            reads.send(loaded)  # here, not by a queue's thread: nothing else runs meanwhile
        except OSError:  # the run takes no more (`forget_reads`, `abort`): on to its next order
            break
        del loaded
    return _NO_ORDER


class BackgroundReport:
    """A report.xlsx being written by a child process (see module docstring)."""

    def __init__(self, path: Path | None, first: ReportData | None) -> None:
        """`first` None: the process starts and waits for `begin` (which may say the path)."""
        ctx = mp.get_context(start_method())  # never fork a process that runs threads (polars')
        self._inbox = ctx.Queue()
        self._outbox = ctx.Queue()
        self._next_area = ctx.Value("i", 0)  # the next 乡镇/村 workbook, shared with the child
        # the files it reads for the run (`read_ahead`) come back through a pipe of their own
        self._reads, reads = ctx.Pipe(duplex=False) if first is None else (None, None)
        _widen(self._reads)
        if self._reads is not None:  # a forked child's copy of this end closed in it: else a child
            # blocked sending a file the run no longer takes would never see the pipe broken (`abort`)
            mp_util.register_after_fork(self._reads, _close_connection)
        self._process = ctx.Process(
            target=_child, args=(None if path is None else str(path), first, self._inbox, self._outbox, os.getpid(),
                                 self._next_area, reads),
            daemon=True,
        )
        with _main_module_hidden(), _ctrl_c_held():
            self._process.start()
        if reads is not None:
            reads.close()  # the child's end
        self.path = None if path is None else Path(path)
        self._first = first
        # Tables its caller masked for it, kept for the caller's own use (`outputs._shown`).
        self.masked: dict[str, tuple[Any, Any]] = {}
        self.ordered: tuple[list[Any], Callable[[int], Any]] | None = None  # `read_ahead`'s order

    def begin(self, first: ReportData, path: Path | None = None) -> None:
        """Hand a process started without its first data (`prestart_report`) the flags and
        review queue, and the workbook's `path` if it was not known at the start: it starts
        the workbook. The files it read for the run are all taken by then (the rules come after
        every file is linked): one it would still be sending is not waited for (`_close_reads`),
        so the process goes on to the workbook whatever the run did not take."""
        if path is not None:
            self.path = Path(path)
        if self.path is None:
            raise ValueError("the workbook's path was given neither at the start nor now")
        self._close_reads()
        self._first = first
        self._inbox.put((str(self.path), first))

    def read_ahead(self, specs: list[Any]) -> Callable[[int], Any]:
        """Have the process read the input files `specs` (`config.InputSpec`s; maybe none) while
        it waits for the workbook's data: on the second core, under its own interpreter lock,
        while this process reads the others. The first order to a process started ahead, before
        `begin` (it imports the workbook's modules while it waits for it). Returns `take(i)`,
        which waits for the LoadedFile of `specs[i]` — None where the process could not read it
        (the caller reads it itself) or has ended; each is taken once. The process answers one
        such order: it is kept as `ordered` (the specs, `take`) for whoever runs the job."""
        specs = list(specs)
        self._inbox.put({_READ: specs})
        answers: list[Any] = []
        lock = threading.Lock()

        def take(i: int) -> Any:
            with lock:
                while len(answers) <= i:
                    answers.append(self._next_read() if len(answers) < len(specs) else None)
                loaded, answers[i] = answers[i], None
                return loaded

        self.ordered = (specs, take)
        return take

    def forget_reads(self) -> None:
        """The files ordered read will not be taken (the run reads its files itself): the
        process, if still sending one, goes on to the workbook."""
        self._close_reads()

    def _close_reads(self) -> None:
        """Close this end of the reads' pipe: a child still sending a file the run will not take
        gets a broken pipe and goes on (to the workbook, or its end) instead of waiting for a
        reader."""
        reads, self._reads = self._reads, None
        if reads is not None:
            reads.close()

    def _next_read(self) -> Any:
        """The process's next answer to a read (None: it has ended without one, or the run has
        stopped taking them: `abort`)."""
        while True:
            reads = self._reads
            if reads is None:
                return None
            alive = self._process.is_alive()
            try:
                if reads.poll(0.5 if alive else 0):
                    return reads.recv()
            except (EOFError, OSError, ValueError):  # (ValueError: closed meanwhile by `abort`)
                return None
            if not alive:
                return None

    def finish(self, **rest: Any) -> int:
        """Send the remaining ReportData fields and wait for the workbook; returns the child's
        peak memory in MB. The per-area workbooks are written meanwhile, here and — once it has
        finished report.xlsx — in the child, each taking the next area not yet taken. Raises
        FanpinError when a workbook cannot be written."""
        from fanpin_cli.report.split import FOLDERS, AreaFolder, write_areas

        data = replace(self._first, **rest)
        try:
            areas = AreaFolder(self.path.parent, data.split) if data.split in FOLDERS else None
        except BaseException:  # the folder cannot be made: the child, still waiting, is ended
            self.abort()
            raise
        self._inbox.put({"rest": {**rest, "split": "none"}, "areas": str(areas.tmp) if areas else None,
                         "by": data.split})
        try:
            if areas is not None:
                write_areas(areas.tmp, replace(data, split="none"), data.split, lambda: _claim(self._next_area))
        except BaseException:
            with self._next_area.get_lock():  # no area left for the child: it only ends its workbook
                self._next_area.value = _NO_AREA
            with contextlib.suppress(Exception):  # queue.Empty or a dead child: the first error counts
                self._reply()  # let the child finish, then raise
            self._stop()
            if areas is not None:
                areas.discard()
            raise
        try:
            status, message = self._reply()
        except Exception as exc:  # noqa: BLE001 - queue.Empty or a dead child
            exitcode = self._process.exitcode
            self._stop()
            if areas is not None:
                areas.discard()
            raise failure_of("", None, self.path.name, exitcode) from exc
        # Not waited for: its last message said every workbook is written, and it ends on its own
        # (`process.leave`) while this process puts them in place; it is reaped when the command
        # ends (`abort`) or at exit (multiprocessing joins its children), long ended by then.
        self._close_reads()
        if status != "ok" and areas is not None:
            areas.discard()
        if status != "ok":
            raise failure_of(status, message, self.path.name)
        if areas is not None:
            areas.publish()
        return int(message)

    def _reply(self) -> Any:
        """The child's last message; queue.Empty once it has ended without one (killed, out of
        memory: the run then fails at once instead of after _TIMEOUT) or after _TIMEOUT."""
        import queue
        import time

        deadline = time.monotonic() + _TIMEOUT
        while True:
            alive = self._process.is_alive()
            try:  # a child that ended after its message: the message is still read
                return self._outbox.get(timeout=0.5 if alive else 1.0)
            except queue.Empty:
                if not alive or time.monotonic() >= deadline:
                    raise

    def abort(self) -> None:
        """The job failed: drop the unfinished workbook and end the child."""
        self._close_reads()  # a file read for the run that it no longer takes: not waited for
        if self._process.is_alive():
            self._inbox.put(None)
            self._process.join(timeout=30)
        self._stop()

    def end(self) -> None:
        """End a process that was given nothing yet (started ahead, taken by no command) at
        once, without waiting for it to finish its imports: it has nothing to drop."""
        self._stop()

    def alive(self) -> bool:
        """Whether the child process is still running."""
        return self._process.is_alive()

    def _stop(self) -> None:
        self._close_reads()
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)
        # data put for a child that is gone must not hold this process at exit
        self._inbox.cancel_join_thread()


class InlineReport:
    """The same interface, writing in this process: used where no child process can start."""

    def __init__(self, path: Path, first: ReportData) -> None:
        self.path = Path(path)
        self._first = first
        self.masked: dict[str, tuple[Any, Any]] = {}  # as BackgroundReport's

    def finish(self, **rest: Any) -> int:
        from fanpin_cli.report.writer import write_report

        write_report(self.path, replace(self._first, **rest))
        return 0

    def abort(self) -> None:
        """Nothing was written yet."""


def start_report(path: Path, first: ReportData, started: BackgroundReport | None = None,
                 ) -> BackgroundReport | InlineReport:
    """A BackgroundReport (`started` by `prestart_report`, given `first` now), or an
    InlineReport where processes cannot be started."""
    if started is not None:
        if started.alive():
            started.begin(first, path)
            return started
        started.abort()  # it ended while the run read and linked (killed, out of memory): a new one
    try:
        return BackgroundReport(path, first)
    except (OSError, RuntimeError, ValueError):  # e.g. a sandbox without process creation
        return InlineReport(path, first)


def prestart_report(path: Path | None = None) -> BackgroundReport | None:
    """A BackgroundReport started ahead of its data (see module docstring; `start_report`
    hands them over, with the path when it is None here), or None where processes cannot be
    started."""
    try:
        return BackgroundReport(path, None)
    except (OSError, RuntimeError, ValueError):
        return None
