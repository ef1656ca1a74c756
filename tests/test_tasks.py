"""tasks.run_tasks: tasks handed to an executor once what they need is done."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fanpin_cli.pipeline import SerialExecutor
from fanpin_cli.tasks import SWITCH_INTERVAL, Task, quick_handoffs, run_tasks


def recorder():
    order: list[str] = []

    def step(name: str, *, fail: BaseException | None = None, pause: float = 0.0):
        def fn(*needed):
            order.append(name)
            time.sleep(pause)
            if fail is not None:
                raise fail
            return name
        return fn
    return order, step


def test_ready_tasks_start_by_rank_and_a_task_waits_for_what_it_needs():
    order, step = recorder()
    tasks = [Task("read_small", step("read_small"), rank=(1, 0)), Task("read_big", step("read_big"), rank=(1, -5)),
             Task("link_big", step("link_big"), needs=("read_big",), rank=(0,)),
             Task("link_small", step("link_small"), needs=("read_small",), rank=(0,))]
    with ThreadPoolExecutor(max_workers=1) as pool:
        done = run_tasks(pool, tasks, limit=1)
    # the big file first; its linking before the next read; the small file's last
    assert order == ["read_big", "link_big", "read_small", "link_small"]
    assert {name: f.result() for name, f in done.items()} == {t.name: t.name for t in tasks}


def test_never_more_than_limit_at_once():
    lock, running, most = threading.Lock(), [0], [0]

    def work(*_):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    with ThreadPoolExecutor(max_workers=4) as pool:
        run_tasks(pool, [Task(f"t{i}", work) for i in range(8)], limit=2)
    assert most[0] == 2


def test_meanwhile_runs_once_on_the_calling_thread_while_the_tasks_run():
    started, calls = threading.Event(), []

    def meanwhile():
        calls.append(threading.current_thread())
        started.set()

    def task(*_):  # finishes only once `meanwhile` has run: it runs while this task is in flight
        assert started.wait(5)
        return "done"

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = run_tasks(pool, [Task("a", task), Task("b", task), Task("c", lambda a: a + "!", needs=("a",))],
                         limit=2, meanwhile=[meanwhile])
    assert calls == [threading.current_thread()]
    assert {name: f.result() for name, f in done.items()} == {"a": "done", "b": "done", "c": "done!"}


def test_meanwhile_steps_hand_out_ready_tasks_between_them():
    """A list of `meanwhile` steps: a task made ready while one step ran is handed out before the
    next step (the worker does not wait for the whole list)."""
    a_may_end, b_started, b_may_end, calls = threading.Event(), threading.Event(), threading.Event(), []

    with ThreadPoolExecutor(max_workers=1) as pool:
        def a():
            assert a_may_end.wait(10)  # in flight when the steps begin
            return "a"

        def first_step():
            calls.append("first")
            a_may_end.set()
            pool.submit(lambda: None).result()  # behind task a on the one worker: a is done now

        def second_step():
            calls.append("second")
            assert b_started.wait(10), "b was not handed out after the first step"
            b_may_end.set()

        def b():
            b_started.set()
            assert b_may_end.wait(10)  # still running while the second step runs
            return "b"

        done = run_tasks(pool, [Task("a", a, rank=(0,)), Task("b", b, rank=(1,))], limit=1,
                         meanwhile=[first_step, second_step])
    assert calls == ["first", "second"]
    assert {name: f.result() for name, f in done.items()} == {"a": "a", "b": "b"}


@pytest.mark.parametrize("executor", [SerialExecutor, lambda: ThreadPoolExecutor(max_workers=2)])
def test_a_failed_need_skips_its_dependants_and_every_other_task_still_runs(executor):
    order, step = recorder()
    tasks = [Task("roster", step("roster")), Task("read0", step("read0", fail=ValueError("文件无法读取"))),
             Task("read1", step("read1")), Task("link0", step("link0"), needs=("roster", "read0")),
             Task("link1", step("link1"), needs=("roster", "read1"))]
    pool = executor()
    try:
        done = run_tasks(pool, tasks, limit=2)
    finally:
        pool.shutdown()
    assert "link0" not in order and {"roster", "read1", "link1"} <= set(order)
    assert str(done["link0"].exception()) == "文件无法读取"
    assert done["link1"].result() == "link1"


def spans():
    """Tasks that log their start (`name>`) and end (`name<`), pausing between, and may fail."""
    log: list[str] = []
    lock = threading.Lock()

    def step(name: str, *, fail: str | None = None, pause: float = 0.02):
        def fn(*needed):
            with lock:
                log.append(f"{name}>")
            time.sleep(pause)
            with lock:
                log.append(f"{name}<")
            if fail is not None:
                raise ValueError(fail)
            return (name, *needed)
        return fn
    return log, step


# (case, tasks as (name, needs, after, fails with), what each task's future holds: its result,
# or the text of its error). Built like compute's graph: read{i} → link{i}, link_small after link_big.
AFTER_CASES = [
    ("the task before failed: the one after still runs, with its own result",
     [("big", (), (), "大文件无法关联"), ("small", (), ("big",), None)],
     {"big": "大文件无法关联", "small": ("small",)}),
    ("the task before was skipped (its need failed): the one after still runs",
     [("read_big", (), (), "大文件无法读取"), ("link_big", ("read_big",), (), None),
      ("read_small", (), (), None), ("link_small", ("read_small",), ("link_big",), None)],
     {"read_big": "大文件无法读取", "link_big": "大文件无法读取", "read_small": ("read_small",),
      "link_small": ("link_small", ("read_small",))}),
    ("both fail: each future holds its own error, not the one before's",
     [("big", (), (), "大文件无法关联"), ("small", (), ("big",), "小文件无法关联")],
     {"big": "大文件无法关联", "small": "小文件无法关联"}),
    ("a failed data need still skips the task with the need's error, whatever came before",
     [("link_big", (), (), None), ("read_small", (), (), "小文件无法读取"),
      ("link_small", ("read_small",), ("link_big",), None)],
     {"link_big": ("link_big",), "read_small": "小文件无法读取", "link_small": "小文件无法读取"}),
    ("only needs are passed as arguments, never what came before",
     [("a", (), (), None), ("b", (), (), None), ("c", ("a",), ("b",), None)],
     {"a": ("a",), "b": ("b",), "c": ("c", ("a",))}),
]


@pytest.mark.parametrize("executor", [SerialExecutor, lambda: ThreadPoolExecutor(max_workers=2)],
                         ids=["serial", "two threads"])
@pytest.mark.parametrize(("case", "spec", "expected"), AFTER_CASES, ids=[c[0] for c in AFTER_CASES])
def test_a_task_after_another_waits_for_it_but_not_for_its_outcome(executor, case, spec, expected):
    log, step = spans()
    tasks = [Task(name, step(name, fail=fail), needs=needs, after=after) for name, needs, after, fail in spec]
    pool = executor()
    try:
        done = run_tasks(pool, tasks, limit=2)
    finally:
        pool.shutdown()
    held = {name: str(f.exception()) if f.exception() is not None else f.result() for name, f in done.items()}
    assert held == expected, case
    for task in tasks:  # started only once what it waits for has ended (or was skipped)
        if f"{task.name}>" in log:
            for before in task.waits_for:
                assert f"{before}>" not in log or log.index(f"{before}<") < log.index(f"{task.name}>"), (task.name, log)
    skipped = {t.name for t in tasks if any(done[n].exception() is not None for n in t.needs)}
    assert {e[:-1] for e in log if e.endswith(">")} == {t.name for t in tasks} - skipped


def test_tasks_after_a_failed_one_keep_their_rank():
    # compute's graph on one worker: the big file's linking fails; the small file's (after it)
    # still comes as soon as its read is done, before a later-ranked read.
    order, step = recorder()
    tasks = [Task("read_big", step("read_big"), rank=(1, -3)), Task("read_small", step("read_small"), rank=(1, -2)),
             Task("read_tiny", step("read_tiny"), rank=(1, -1)),
             Task("link_big", step("link_big", fail=ValueError("x")), needs=("read_big",), rank=(0, -3)),
             Task("link_small", step("link_small"), needs=("read_small",), after=("link_big",), rank=(0, -2)),
             Task("link_tiny", step("link_tiny"), needs=("read_tiny",), rank=(0, -1))]
    with ThreadPoolExecutor(max_workers=1) as pool:
        done = run_tasks(pool, tasks, limit=1)
    assert order == ["read_big", "link_big", "read_small", "link_small", "read_tiny", "link_tiny"]
    assert done["link_small"].result() == "link_small"


def test_a_chain_of_failing_tasks_never_runs_more_than_limit_at_once_nor_two_of_the_chain():
    lock, running, most, chain_running, chain_most = threading.Lock(), [0], [0], [0], [0]

    def work(i: int):
        def fn(*_):
            in_chain = i % 2 == 0
            with lock:
                running[0] += 1
                chain_running[0] += in_chain
                most[0] = max(most[0], running[0])
                chain_most[0] = max(chain_most[0], chain_running[0])
            time.sleep(0.02)
            with lock:
                running[0] -= 1
                chain_running[0] -= in_chain
            if i % 4 == 0:
                raise ValueError(f"t{i}")
            return i
        return fn

    # even tasks form a chain (each after the one before), every other one of them failing
    tasks = [Task(f"t{i}", work(i), after=(f"t{i - 2}",) if i % 2 == 0 and i else ()) for i in range(10)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = run_tasks(pool, tasks, limit=3)
    assert most[0] <= 3 and chain_most[0] == 1  # (how many ran at once depends on the machine: at most)
    assert [str(done[f"t{i}"].exception() or done[f"t{i}"].result()) for i in range(10)] == [
        f"t{i}" if i % 4 == 0 else str(i) for i in range(10)]


def test_an_interruption_stops_at_once():
    order, step = recorder()
    tasks = [Task("roster", step("roster", fail=KeyboardInterrupt()), rank=(0,)),
             Task("read0", step("read0"), rank=(1,)), Task("read1", step("read1"), rank=(2,))]
    with pytest.raises(KeyboardInterrupt):
        run_tasks(SerialExecutor(), tasks, limit=2)
    assert order == ["roster"]


def test_a_panic_is_a_tasks_error_not_an_interruption():
    """pyo3's PanicException (a panic in polars' or fastexcel's Rust code) is no Exception, but
    no Ctrl-C either: the other tasks run, and the panic waits in its task's future."""
    import polars as pl

    order, step = recorder()
    panic = pl.exceptions.PanicException("called `Option::unwrap()` on a `None` value")
    tasks = [Task("roster", step("roster", fail=panic), rank=(0,)),
             Task("read0", step("read0"), rank=(1,)), Task("read1", step("read1"), rank=(2,))]
    done = run_tasks(SerialExecutor(), tasks, limit=2)
    assert order == ["roster", "read0", "read1"] and done["roster"].exception() is panic


@pytest.mark.parametrize(("tasks", "limit", "says"), [
    ([Task("a", lambda: 1)], 0, "limit"),
    ([Task("a", lambda b: b, needs=("b",))], 1, "unknown"),
    ([Task("a", lambda b: b, needs=("b",)), Task("b", lambda a: a, needs=("a",))], 1, "wait for each other"),
    ([Task("a", lambda: 1, after=("b",))], 1, "unknown"),
    ([Task("a", lambda: 1, after=("b",)), Task("b", lambda a: a, needs=("a",))], 1, "wait for each other"),
    ([Task("a", lambda: 1, after=("a",))], 1, "wait for each other"),
])
def test_bad_task_lists_are_refused(tasks, limit, says):
    with pytest.raises(ValueError, match=says):
        run_tasks(SerialExecutor(), tasks, limit=limit)


def test_quick_handoffs_restores_the_interval_after_an_error_and_never_lengthens_it():
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), quick_handoffs(0.0001):
        assert sys.getswitchinterval() == pytest.approx(0.0001)
        raise RuntimeError("x")
    assert sys.getswitchinterval() == before
    with quick_handoffs(before * 10):  # a longer interval is never set
        assert sys.getswitchinterval() == before


def test_quick_handoffs_in_two_threads_restore_the_interval_once_both_are_done():
    # A ends before B: the interval stays short for B, and the caller's comes back after B.
    before = sys.getswitchinterval()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, float] = {}

    def a() -> None:
        with quick_handoffs(0.0005):
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with quick_handoffs(0.0005):
            b_in.set()
            a_out.wait(5)
            seen["b after a"] = sys.getswitchinterval()
        seen["after both"] = sys.getswitchinterval()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"b after a": pytest.approx(min(before, 0.0005)), "after both": before}
    assert sys.getswitchinterval() == before


def test_a_run_hands_the_interpreter_lock_on_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole job (its threads: reading, linking, workbooks, CSVs) runs with the short
    switch interval, and the caller's is back afterwards."""
    import shutil

    import fanpin_cli.pipeline as pipeline
    from fanpin_cli.config import load_config
    from fanpin_cli.resources import resource_dir

    county = tmp_path / "county"
    shutil.copytree(resource_dir("sample_data"), county)
    seen: list[float] = []
    real = pipeline.compute

    def recording(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "compute", recording)
    before = sys.getswitchinterval()
    pipeline.run_job(load_config(county / "fanpin.toml"), tmp_path / "out", history=False)
    assert seen == [pytest.approx(min(before, SWITCH_INTERVAL))]
    assert sys.getswitchinterval() == before
    assert (tmp_path / "out" / "links.csv").exists()
