"""Tasks that wait for other tasks, run on an executor with no worker ever blocked waiting.

`compute` reads every file, then links each extract once the roster is ready. Run as one task
per file (read, then wait for the roster, then link), a worker sat idle while the roster was
still being read, and the biggest file started late. Here a task is handed to the executor
only when the tasks it needs are done, at most `limit` at once, the ready task with the
lowest `rank` first (`compute`: linking before reading, bigger files first). A task can also
wait for tasks only to come `after` them, whatever became of them (`compute` links two big files
one after the other: the second is linked, and reported on, even when the first failed).

>>> from concurrent.futures import ThreadPoolExecutor
>>> order = []
>>> def step(name, value=0):
...     def fn(*needed):
...         order.append(name)
...         return value + sum(needed)
...     return fn
>>> tasks = [Task("a", step("a", 1), rank=(1,)), Task("b", step("b", 2), rank=(1,)),
...          Task("ab", step("ab"), needs=("a", "b"), rank=(0,)), Task("c", step("c", 5), rank=(2,))]
>>> with ThreadPoolExecutor(max_workers=1) as pool:
...     done = run_tasks(pool, tasks, limit=1)
>>> done["ab"].result(), order
(3, ['a', 'b', 'ab', 'c'])
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fanpin_cli.errors import INTERRUPTIONS


@dataclass(frozen=True)
class Task:
    """`fn(*results of needs)`, started once every task named in `needs` or `after` is done;
    among the ready tasks, the lowest `rank` starts first. `needs` are data: a failed need skips
    the task with the need's error. `after` is order only: those tasks' results (or errors) are
    neither passed nor carried over."""

    name: str
    fn: Callable[..., Any]
    needs: tuple[str, ...] = ()
    rank: tuple[Any, ...] = ()
    after: tuple[str, ...] = ()

    @property
    def waits_for(self) -> tuple[str, ...]:
        """Every task that must be done before this one starts."""
        return (*self.needs, *self.after)


def run_tasks(pool: Executor, tasks: Sequence[Task], *, limit: int,
              meanwhile: Sequence[Callable[[], None]] = ()) -> dict[str, Future]:
    """Run `tasks` on `pool`, at most `limit` at once; returns every task's future once all
    are done. A task whose need failed is not started: its future holds that need's error; a
    task that only comes `after` a failed task runs all the same, with its own result. Every
    task runs (or is skipped) even after a failure, so that the caller can report the
    errors in its own order; an interruption (KeyboardInterrupt, SystemExit) is raised at once.
    `meanwhile`: steps (which must not raise) called one after the other on the calling thread
    once the first tasks are handed out, work of its own while it would otherwise only wait;
    the tasks that became ready are handed out between two of them (a worker done with its task
    never waits for the whole list); those left when every task is done are not called.

    >>> from fanpin_cli.pipeline import SerialExecutor
    >>> def boom():
    ...     raise ValueError("unreadable")
    >>> done = run_tasks(SerialExecutor(), [Task("read", boom), Task("link", lambda r: r, needs=("read",))], limit=2)
    >>> type(done["link"].exception()).__name__, str(done["link"].exception())
    ('ValueError', 'unreadable')
    >>> done = run_tasks(SerialExecutor(), [Task("big", boom), Task("small", lambda: "linked", after=("big",))], limit=1)
    >>> done["small"].result()
    'linked'
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    names = {t.name for t in tasks}
    unknown = {n for t in tasks for n in t.waits_for} - names
    if unknown:
        raise ValueError(f"tasks need unknown tasks: {sorted(unknown)}")
    futures: dict[str, Future] = {}
    waiting = list(tasks)
    running: set[Future] = set()
    steps = list(meanwhile)
    while waiting or running:
        ready = sorted((t for t in waiting if all(n in futures and futures[n].done() for n in t.waits_for)),
                       key=lambda t: t.rank)
        for task in ready:
            failed = next((futures[n] for n in task.needs if futures[n].exception() is not None), None)
            if failed is None and len(running) >= limit:
                continue
            waiting.remove(task)
            if failed is not None:
                skipped: Future = Future()
                skipped.set_exception(failed.exception())
                futures[task.name] = skipped
                continue
            future = pool.submit(task.fn, *[futures[n].result() for n in task.needs])
            futures[task.name] = future
            if not future.done():
                running.add(future)
                continue
            # done already (a serial executor, or a quick task): what it made ready may rank
            # before the rest of this list
            _stop_if_interrupted(future)
            break
        if running:
            if steps:  # work of the caller's own, then back to hand out what became ready
                steps.pop(0)()
                finished = {f for f in running if f.done()}
            else:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
            running -= finished
            for future in finished:
                _stop_if_interrupted(future)
        elif waiting and not any(all(n in futures for n in t.waits_for) for t in waiting):
            raise ValueError(f"tasks wait for each other: {sorted(t.name for t in waiting)}")
    return futures


def _stop_if_interrupted(future: Future) -> None:
    """Ctrl-C (or SystemExit: `errors.INTERRUPTIONS`) inside a task stops the run at once: not a
    file's error, which the caller reports in its order once every task has run (an executor that
    runs tasks on the calling thread hands it over in the future). A panic in Rust code (pyo3's
    PanicException, no Exception either) is a file's error like any other."""
    error = future.exception()
    if isinstance(error, INTERRUPTIONS):
        raise error


# How long a thread holding the interpreter lock keeps it while another thread waits for it.
# A run's threads alternate between polars (which releases the lock) and pure Python (workbook
# rows, keyed digests, pypinyin): with Python's default of 5 ms, every polars call that returns
# while a pure-Python thread runs waits up to 5 ms for the lock before it can issue the next —
# masking 15 frames beside the 乡镇 workbooks took 3.2 s of wall time at 5 ms, 0.16 s at 0.5 ms.
SWITCH_INTERVAL = 0.0005


@contextmanager
def quick_handoffs(interval: float = SWITCH_INTERVAL) -> Iterator[None]:
    """Within the block, a waiting thread gets the interpreter lock after `interval` seconds
    at most (`sys.setswitchinterval`; never longer than it already was); restored after.

    >>> before = sys.getswitchinterval()
    >>> with quick_handoffs(0.0005):
    ...     sys.getswitchinterval()
    0.0005
    >>> sys.getswitchinterval() == before
    True
    """
    with _HANDOFFS_LOCK:  # blocks in several threads (run_job is public): the first sets, the last restores
        if not _HANDOFFS:
            _HANDOFFS.append(sys.getswitchinterval())
            sys.setswitchinterval(min(_HANDOFFS[0], interval))
        _HANDOFFS.append(interval)
    try:
        yield
    finally:
        with _HANDOFFS_LOCK:
            _HANDOFFS.pop()
            if len(_HANDOFFS) == 1:
                sys.setswitchinterval(_HANDOFFS.pop())


_HANDOFFS_LOCK = threading.Lock()
_HANDOFFS: list[float] = []  # the interval before the first open block, then one entry per open block
