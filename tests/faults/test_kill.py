"""kill -9 of a run: its report process ends too, its lock is released, and the next run
removes its temp files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .hostile import hostile_county


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("delay", [1.5, 3.0])
def test_killed_run_leaves_no_process_and_no_lock(tmp_path, delay):
    config, _ = hostile_county(tmp_path / "county", households=300)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fanpin_cli.cli", "run", str(config), "--out", str(out), "-q", "--no-history"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        seen.update(_children(proc.pid))
        time.sleep(0.05)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + 10
    while time.monotonic() < end and any(_alive(p) for p in seen):
        time.sleep(0.1)
    assert not [p for p in seen if _alive(p)], "a child of the killed run is still running"
    # The lock died with the process and the next run cleans up and completes.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert not list(out.rglob("*.tmp"))
    assert (out / "summary.json").is_file()


def _completed(command: list[str], crash_folder: Path) -> None:
    """Run `command` to its end; a failure says its console line and crash report."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    reports = "".join(p.read_text(encoding="utf-8") for p in sorted(crash_folder.glob("fanpin-error-*.txt")))
    assert done.returncode == 0, f"{done.stderr}\n{reports}"


def _state(folder: Path) -> tuple[frozenset[str], dict[str, str], str | None]:
    """What tells one run's outputs from another's: the files present, each CSV's digest and
    summary.json's reference date (timings and workbook timestamps differ between any two runs)."""
    import hashlib
    import json

    names = frozenset(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    csvs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.csv")}
    summary = folder / "summary.json"
    ref = json.loads(summary.read_text(encoding="utf-8"))["reference_date"] if summary.is_file() else None
    return names, csvs, ref


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_killed_second_run_leaves_first_or_second_never_a_mix(tmp_path):
    import shutil

    config1, _ = hostile_county(tmp_path / "county", households=300)
    text = config1.read_text(encoding="utf-8")
    config2 = config1.with_name("second.toml")
    config2.write_text(text.replace("2026-11-30", "2027-10-31").replace('"2026-11"', '"2027-10"'), encoding="utf-8")

    def cmd(config: Path, out: Path) -> list[str]:
        return [sys.executable, "-m", "fanpin_cli.cli", "run", str(config), "--out", str(out), "-q", "--no-history"]

    first, second = tmp_path / "first", tmp_path / "second"
    for config, out in ((config1, first), (config2, second)):
        _completed(cmd(config, out), tmp_path)
    a, b = _state(first), _state(second)
    differing = {n for n in a[1] if a[1][n] != b[1].get(n)}
    assert differing and a[2] != b[2], "the two runs must be told apart"

    out = tmp_path / "out"
    outcomes = set()
    for delay in (0.5, 2.0, 4.0, 8.0):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(first, out)
        (out / "mine.txt").write_text("a clerk's own file", encoding="utf-8")
        proc = subprocess.Popen(cmd(config2, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        names, csvs, ref = _state(out)
        assert (out / "mine.txt").read_text(encoding="utf-8") == "a clerk's own file"
        names = names - {"mine.txt"}
        if ref == a[2]:
            side = a
            outcomes.add("first")
        else:
            side = b
            outcomes.add("second")
        assert ref == side[2]
        assert names == side[0], f"killed after {delay} s: files of both runs"
        assert {n: csvs[n] for n in differing} == {n: side[1][n] for n in differing}, f"mixed after {delay} s"
        assert not list(out.rglob("*.tmp"))
    # the next run removes what a killed run left beside the folder
    _completed(cmd(config2, out), tmp_path)
    assert not list(tmp_path.glob(".out.fanpin-new-*"))
    assert (out / "mine.txt").is_file()
    assert outcomes  # at least one kill landed (which side depends on the machine's speed)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path):
    """cron's `timeout` and systemd stop a job with SIGTERM: the run says so (已中断, exit 143,
    no traceback), leaves the output folder as it was (here: the previous month's), no staging
    folder or temp file, no report process; the next run completes. Signalled at several
    moments; at least one must find the run still running."""
    config, _ = hostile_county(tmp_path / "county", households=300)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fanpin_cli.cli", "run", str(config), "--out", str(out), "--no-history"]
    _completed(cmd + ["-q"], tmp_path)
    before = _state(out)
    stopped = 0
    for delay in (1.0, 2.0, 3.0):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen: set[int] = set()
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            seen.update(_children(proc.pid))
            time.sleep(0.05)
        if proc.poll() is not None:
            continue  # done before the signal: nothing to see at this moment
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            continue  # the signal came as it ended
        stopped += 1
        assert proc.returncode == 143, err
        assert "已中断" in err and "SIGTERM" in err and "Traceback" not in err, err
        assert _state(out) == before
        assert not [p for p in tmp_path.iterdir() if ".fanpin-new-" in p.name]
        assert not list(out.rglob("*.tmp"))
        end = time.monotonic() + 10
        while time.monotonic() < end and any(_alive(p) for p in seen):
            time.sleep(0.1)
        assert not [p for p in seen if _alive(p)], "a child of the stopped run is still running"
    assert stopped, "every run ended before its signal: signal sooner"
    _completed(cmd + ["-q"], tmp_path)
