"""report.xlsx written by a child process, in two phases, beside the rest of the job.

The workbook is pure-Python work (xlsxwriter). In a thread it competes for the interpreter
lock with the quality checks; a child process runs it on the second core instead. It needs only
the small frames (flags, review queue, quality detail), never the large extract frames. Once the
quality checks are done the parent has little left to do, so it writes the per-area workbooks
(乡镇/村 folder) itself while the child completes report.xlsx: the two run side by side.

    report = BackgroundReport(path, first)   # rule sheets, 应纳未纳, 待核实匹配 start now
    ...                                      # quality checks run meanwhile
    report.finish(quality=..., scorecard=...)  # the rest; raises FanpinError on failure
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from fanpin_cli.errors import FanpinError
from fanpin_cli.report.model import ReportData

_TIMEOUT = 1800  # seconds; a workbook that takes longer has gone wrong


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
    written after the run that started it died."""
    import os
    import time

    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _child(path: str, first: ReportData, inbox: Any, outbox: Any, parent: int = 0) -> None:
    import threading

    from fanpin_cli.report.writer import ReportWriter

    if parent:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()

    try:
        writer = ReportWriter(Path(path), first)
        rest = inbox.get()
        if rest is None:  # the job failed elsewhere
            writer.abort()
            outbox.put(("aborted", ""))
            return
        writer.finish(replace(first, **rest))
        outbox.put(("ok", str(_peak_mb())))
    except FanpinError as exc:
        outbox.put(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        outbox.put(("crash", f"{type(exc).__name__}: {exc}"))


class BackgroundReport:
    """A report.xlsx being written by a child process (see module docstring)."""

    def __init__(self, path: Path, first: ReportData) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that runs polars threads
        self._inbox = ctx.Queue()
        self._outbox = ctx.Queue()
        self._process = ctx.Process(
            target=_child, args=(str(path), first, self._inbox, self._outbox, os.getpid()), daemon=True
        )
        self._process.start()
        self.path = Path(path)
        self._first = first

    def finish(self, **rest: Any) -> int:
        """Send the remaining ReportData fields and wait for the workbook; returns the child's
        peak memory in MB. The per-area workbooks are written here meanwhile. Raises
        FanpinError when a workbook cannot be written."""
        from fanpin_cli.report.split import write_split

        data = replace(self._first, **rest)
        self._inbox.put({**rest, "split": "none"})
        try:
            if data.split != "none":
                write_split(self.path.parent, data, data.split)
        except BaseException:
            try:
                self._outbox.get(timeout=_TIMEOUT)  # let the child finish report.xlsx, then raise
            except Exception:  # noqa: BLE001 - queue.Empty or a dead child: the first error counts
                pass
            self._stop()
            raise
        try:
            status, message = self._outbox.get(timeout=_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - queue.Empty or a dead child
            self._stop()
            raise FanpinError("生成报表的子进程没有响应", file=self.path.name) from exc
        self._process.join()
        if status == "error":
            raise FanpinError(message)
        if status != "ok":
            raise RuntimeError(f"report.xlsx writer failed: {message}")
        return int(message)

    def abort(self) -> None:
        """The job failed: drop the unfinished workbook and end the child."""
        if self._process.is_alive():
            self._inbox.put(None)
            self._process.join(timeout=30)
        self._stop()

    def _stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)


class InlineReport:
    """The same interface, writing in this process: used where no child process can start."""

    def __init__(self, path: Path, first: ReportData) -> None:
        self.path = Path(path)
        self._first = first

    def finish(self, **rest: Any) -> int:
        from fanpin_cli.report.writer import write_report

        write_report(self.path, replace(self._first, **rest))
        return 0

    def abort(self) -> None:
        """Nothing was written yet."""


def start_report(path: Path, first: ReportData) -> BackgroundReport | InlineReport:
    """A BackgroundReport, or an InlineReport where processes cannot be started."""
    try:
        return BackgroundReport(path, first)
    except (OSError, RuntimeError, ValueError):  # e.g. a sandbox without process creation
        return InlineReport(path, first)
