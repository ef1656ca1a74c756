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


def test_the_quality_list_counts_when_the_workbook_starts(tmp_path, monkeypatch):
    """report.xlsx chooses memory or temp files when it starts, before `finish` brings the
    rest: the 数据质量 list the run starts it with counts, so a county with few flags but a long
    quality list does not build a large workbook in memory."""
    from types import SimpleNamespace

    from fanpin_cli.outputs import _report_first
    from fanpin_cli.report.writer import ReportWriter

    data = _data()
    detail = pl.concat([data.quality] * 30)
    config = SimpleNamespace(county=data.county, period=data.period, reference_date=data.reference_date)

    def started(quality_detail: pl.DataFrame | None) -> bool:
        """Whether the workbook started from the run's data keeps its rows in memory."""
        first = _report_first(config, data.flags, data.review, data.rule_counts, data.area_counts, data.rules,
                              False, None, "none", quality_detail)
        writer = ReportWriter(tmp_path / "report.xlsx", first)
        try:
            return writer.workbook.worksheet_class is memrows.MemoryRowsWorksheet
        finally:
            writer.abort()

    few = data.flags.height + data.review.height
    monkeypatch.setattr(memrows, "SMALL_ROWS", few + detail.height - 1)
    assert started(None)  # the flags and review queue alone are small
    assert not started(detail)  # with the quality list they are not
    first = _report_first(config, data.flags, data.review, data.rule_counts, data.area_counts, data.rules,
                          False, None, "none", detail)
    assert data_rows(first) == few + detail.height


def test_a_workbook_started_small_whose_quality_list_makes_it_large_starts_again_with_temp_files(tmp_path, monkeypatch):
    """A workbook started from the flags and review queue alone (`outputs.early_workbook`)
    keeps its rows in memory; when the 数据质量 list it is finished with makes it large, it is
    started again with temp files and is, part for part, the workbook written directly."""
    from fanpin_cli.report.writer import ReportWriter

    data = _data()
    full = replace(data, quality_detail=pl.concat([data.quality] * 30))
    monkeypatch.setattr(memrows, "SMALL_ROWS", data_rows(full) - 1)
    (tmp_path / "direct").mkdir()
    write_report(tmp_path / "direct" / "report.xlsx", full)

    (tmp_path / "early").mkdir()
    writer = ReportWriter(tmp_path / "early" / "report.xlsx", replace(full, quality=pl.DataFrame(), quality_detail=None))
    assert writer.in_memory
    writer.finish(full)
    assert not writer.in_memory
    assert [p.name for p in (tmp_path / "early").iterdir()] == ["report.xlsx"]
    assert _parts(tmp_path / "early" / "report.xlsx") == _parts(tmp_path / "direct" / "report.xlsx")


def test_sheet_xml_is_the_xml_xlsxwriter_writes(tmp_path):
    # Attributes that are not text written without trying to escape them (`_Worksheet`): the same
    # sheet as xlsxwriter's own worksheet writes, columns, cells, panes, filter, validation.
    from xlsxwriter.workbook import Workbook

    def sheet(path: Path, workbook) -> bytes:  # noqa: ANN001
        fmt = workbook.add_format({"num_format": "@"})
        bold = workbook.add_format({"bold": True})
        ws = workbook.add_worksheet("表 & <1>")
        ws.set_column(0, 0, 12.5, fmt)
        ws.set_column(1, 3, 8.43)  # Excel's default width
        ws.set_column(4, 4, None, None, {"hidden": True})
        ws.set_column(5, 6, 30, fmt, {"level": 2, "collapsed": True})
        ws.set_column(9, 9, 0)
        ws.write_string(0, 0, "甲 & <乙>", bold)
        ws.write_number(1, 1, 2.5, bold)
        ws.set_row(2, 30)
        ws.write_string(2, 5, "丙")
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, 2, 6)
        ws.data_validation(1, 0, 2, 0, {"validate": "list", "source": ["是", "否"], "input_title": "核实"})
        ws.set_header('&C&"-,Bold"标题 && 1')
        workbook.close()
        with zipfile.ZipFile(path) as z:
            return z.read("xl/worksheets/sheet1.xml")

    mine = sheet(tmp_path / "a.xlsx", memrows.memory_workbook(str(tmp_path / "a.xlsx"), {"constant_memory": True}))
    theirs = sheet(tmp_path / "b.xlsx", Workbook(str(tmp_path / "b.xlsx"), {"constant_memory": True}))
    assert b'hidden="1"' in mine and b'outlineLevel="2"' in mine and b' s="' in mine
    assert mine == theirs
