"""`process.leave` and the `fanpin` console entry: the process ends without the interpreter's
teardown, but with everything a normal exit does first (threads joined, exit handlers run,
console flushed) and the same exit status."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fanpin_cli.process import exit_status


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), (130, 130), (False, 0)])
def test_exit_status_as_python_gives_it(code: object, status: int) -> None:
    assert exit_status(code) == status


def test_exit_status_of_a_text_prints_it_and_is_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_status("出错了") == 1
    assert "出错了" in capsys.readouterr().err


@pytest.mark.parametrize("status", [0, 1, 3])
def test_leave_runs_exit_handlers_flushes_and_keeps_the_status(tmp_path: Path, status: int) -> None:
    done = _python(f"""
        import atexit, tempfile, pathlib
        from fanpin_cli.process import leave
        tmp = tempfile.TemporaryDirectory(dir={str(tmp_path)!r})   # removed by its finalizer at exit
        pathlib.Path(tmp.name, "x").write_text("1")
        atexit.register(lambda: print("handler ran"))
        print("before", end="")                                    # buffered: must still come out
        leave({status})
        print("never")
    """, tmp_path)
    assert done.returncode == status, done.stderr
    assert done.stdout == "beforehandler ran\n"
    assert list(tmp_path.iterdir()) == []  # the temporary folder's finalizer ran


def test_leave_waits_for_threads_and_thread_pools(tmp_path: Path) -> None:
    done = _python(f"""
        import threading, time, pathlib
        from concurrent.futures import ThreadPoolExecutor
        from fanpin_cli.process import leave
        out = pathlib.Path({str(tmp_path)!r})
        def late(name):
            time.sleep(0.3)
            (out / name).write_text("done")
        threading.Thread(target=late, args=("thread",)).start()
        ThreadPoolExecutor(1).submit(late, "pool")
        leave(0)
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool", "thread"]


def test_console_keeps_the_commands_exit_statuses(tmp_path: Path) -> None:
    """The `fanpin` command (`python -m fanpin_cli.cli` runs `console`): a finished run 0, a usage
    error 2, a missing config 1 with its Chinese line — as before the fast exit."""
    from fanpin_cli.resources import resource_dir

    config = resource_dir("sample_data") / "fanpin.toml"
    ok = subprocess.run([sys.executable, "-m", "fanpin_cli.cli", "run", str(config), "--out", str(tmp_path / "o"),
                         "-q", "--no-history"], capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o" / "summary.json").is_file() and (tmp_path / "o" / "report.xlsx").is_file()
    usage = subprocess.run([sys.executable, "-m", "fanpin_cli.cli", "run"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2
    missing = subprocess.run([sys.executable, "-m", "fanpin_cli.cli", "run", str(tmp_path / "无.toml"), "--out",
                              str(tmp_path / "m")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1
    assert "无.toml" in missing.stderr + missing.stdout


def test_ctrl_c_while_waiting_for_threads_at_the_end_exits_130_without_a_traceback(tmp_path: Path) -> None:
    done = _python("""
        import os, signal, threading, time
        from fanpin_cli.process import leave
        threading.Thread(target=time.sleep, args=(30,)).start()   # a thread the exit waits for
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        leave(0)
    """, tmp_path)
    assert done.returncode == 130
    assert "Traceback" not in done.stderr


# The end of a `fanpin --version` run through `ENTRY` ("launch": the `fanpin` command,
# `launch.console`; "module": `python -m fanpin_cli.cli`), with `process.leave` replaced by the
# test's own `leave(code)` (defined by the code before it), which looks at the process.
_COMMAND_END = """
    process.leave = leave
    sys.argv = ["fanpin", "--version"]
    if ENTRY == "launch":
        from fanpin_cli.launch import console
        console()
    else:
        import runpy
        runpy.run_module("fanpin_cli.cli", run_name="__main__", alter_sys=True)
"""


def _command_run(code: str, entry: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run `code` (which imports `fanpin_cli.process as process`, `sys`, and defines `leave`),
    then `fanpin --version` through `entry`; the words `leave` printed."""
    script = textwrap.dedent(code) + textwrap.dedent(_COMMAND_END).replace("ENTRY", repr(entry))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="threads counted in /proc (Linux)")
@pytest.mark.parametrize("entry", ["launch", "module"])
@pytest.mark.parametrize("given", [None, "2"])
def test_the_fanpin_command_imports_numpy_without_blas_threads_unless_the_user_sized_them(
    tmp_path: Path, given: str | None, entry: str
) -> None:
    """The `fanpin` command (`launch.console`) and `python -m fanpin_cli.cli` size OpenBLAS
    before anything else: numpy, imported later in the run, starts no thread of its own; a size
    the user set is theirs. (`--version` here; the end is intercepted to look at the process.)"""
    code = """
        import os, sys
        import fanpin_cli.process as process

        def threads():
            return int(next(l for l in open("/proc/self/status") if l.startswith("Threads:")).split()[1])

        def leave(code):
            before = threads()
            import numpy  # as the run imports it, after its start
            print(threads() - before, os.environ.get("OPENBLAS_NUM_THREADS"))
            sys.stdout.flush()
            os._exit(0)
    """
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    started, size = _command_run(code, entry, tmp_path, env)[-2:]
    if given is None:
        assert (started, size) == ("0", "1")  # numpy's import started no thread
    else:
        assert size == given


@pytest.mark.parametrize("entry", ["launch", "module"])
def test_the_fanpin_command_runs_the_collector_rarely_before_its_heavy_imports(tmp_path: Path, entry: str) -> None:
    """The `fanpin` command (`launch.console`) and `python -m fanpin_cli.cli` set the cyclic
    collector's threshold (`process.collect_rarely`) before typer and polars are imported: the
    passes their imports made were most of a run's (94 of a `--version`'s before, 20 after).
    A finder notes the threshold when each of them is first imported."""
    code = """
        import gc, importlib.abc, os, sys
        import fanpin_cli.process as process

        seen = {}

        class Note(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name in ("typer", "polars") and name not in seen:
                    seen[name] = gc.get_threshold()[0]
                return None

        sys.meta_path.insert(0, Note())

        def leave(code):
            print(seen.get("typer"), seen.get("polars"), process.COLLECT_EVERY)
            sys.stdout.flush()
            os._exit(0)
    """
    typer_at, polars_at, every = _command_run(code, entry, tmp_path)[-3:]
    assert typer_at == polars_at == every != "700"
