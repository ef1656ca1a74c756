"""The modules' docstring examples leave nothing in the system's temporary folder: their
`tempfile.mkdtemp()` folders go into pytest's own (`conftest._doctest_temp_folders`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docstring_examples_leave_nothing_in_the_system_temp_folder(tmp_path: Path) -> None:
    system, pytests = tmp_path / "system", tmp_path / "pytest"
    system.mkdir()
    modules = ["fanpin_cli/crash.py", "fanpin_cli/history/store.py", "fanpin_cli/report/together.py"]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={pytests}", *modules],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(system)}, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[100%]" in out.stdout  # the examples ran
    assert sorted(p.name for p in system.iterdir()) == []
