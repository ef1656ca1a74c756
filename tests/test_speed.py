"""Start-up weight and the speed-related invariants of the job (issue 14)."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    return {m.split(".")[0] for m in out.stdout.split()}


def test_report_process_imports_no_validation_stack() -> None:
    # The child that writes report.xlsx imports what the workbook needs: not pandera (and,
    # where they are installed, pandas and pyspark.pandas through it).
    loaded = _modules_after(
        "import fanpin_cli.report.background, fanpin_cli.report.writer, fanpin_cli.report.split, "
        "fanpin_cli.report.html"
    )
    assert "xlsxwriter" in loaded
    assert not loaded & {"pandera", "pandas", "pyspark"}
