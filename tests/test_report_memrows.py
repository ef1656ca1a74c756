"""A small workbook is written without temp files (rows and parts kept in memory) and is, part
for part, the workbook the temp-file path writes."""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import polars as pl
from test_report import _data

from fanpin_cli.report import memrows
from fanpin_cli.report.writer import data_rows, write_report


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        # docProps/core.xml holds the time the workbook was made.
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_small_workbook_makes_no_temp_file_and_equals_the_streamed_one(tmp_path, monkeypatch):
    data = _data()
    # Enough rows for `rowxml` to stream whole blocks (tables of 20 rows and more).
    data = replace(data, flags=pl.concat([data.flags] * 8), review=pl.concat([data.review] * 25))
    assert 40 < data_rows(data) <= memrows.SMALL_ROWS
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    made: list[str] = []
    real_mkstemp = tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: made.append("x") or real_mkstemp(*a, **k))
    (tmp_path / "mem").mkdir()
    write_report(tmp_path / "mem" / "report.xlsx", data)
    assert made == [] and list(system_tmp.iterdir()) == []
    assert [p.name for p in (tmp_path / "mem").iterdir()] == ["report.xlsx"]

    monkeypatch.setattr(memrows, "SMALL_ROWS", 0)  # the same data through the temp files
    (tmp_path / "files").mkdir()
    write_report(tmp_path / "files" / "report.xlsx", data)
    assert made  # this path does use temp files
    streamed, in_memory = _parts(tmp_path / "files" / "report.xlsx"), _parts(tmp_path / "mem" / "report.xlsx")
    assert streamed.keys() == in_memory.keys()
    assert streamed == in_memory
    assert any(b"<sheetData><row" in v for k, v in in_memory.items() if k.startswith("xl/worksheets/"))


def test_large_workbook_streams_through_temp_files():
    assert memrows.small_workbook(memrows.SMALL_ROWS)
    assert not memrows.small_workbook(memrows.SMALL_ROWS + 1)
